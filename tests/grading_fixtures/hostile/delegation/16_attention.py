# Exercise 16 handed to the course package's own reference implementation: no maths of its
# own. Graded in the same process as dlcourse (the grader's --in-process debugging mode) it
# scores full marks; in the sandbox it must score nothing, with feedback that says why.
import numpy as np

import dlcourse


def attention_scores(Q, K, mask=None):
    from dlcourse.attention import attention_scores as reference

    return reference(Q, K, mask)


def softmax_rows(S):
    return dlcourse.activations.softmax(np.asarray(S, dtype=float), axis=-1)


def attention(Q, K, V, mask=None):
    from dlcourse.attention import scaled_dot_product_attention

    return scaled_dot_product_attention(Q, K, V, mask)


def softmax_backward(P, dP):
    from dlcourse.activations import softmax_jvp

    return softmax_jvp(np.asarray(P, dtype=float), np.asarray(dP, dtype=float))


def attention_backward(dout, Q, K, V, mask=None):
    from dlcourse.attention import scaled_dot_product_attention_backward

    return scaled_dot_product_attention_backward(dout, Q, K, V, mask)


dlcourse.check("16")
