# MISTAKE: MLP layers and inputs in float32 (PyTorch's default)
# LOSES: test_module_forward, test_train_step, test_module_forward_float64, test_train_step_random
# FEEDBACK: float64

import numpy as np
import torch
from torch import nn


def mlp_gradients(X, Y, weights, biases):
    """Gradients of C = (1/m) sum_x 0.5 ||a^L - y||^2 by torch autograd (float64, CPU).

    X: (m, n_0); Y: (m, n_L); weights[l - 1]: (n_l, n_{l-1}); biases[l - 1]: (n_l,);
    sigmoid activations in every layer. Returns (grads_W, grads_b): lists of NumPy arrays
    shaped like weights and biases.
    """
    # BEGIN SOLUTION
    Ws = [torch.tensor(W, dtype=torch.float64, requires_grad=True) for W in weights]
    bs = [torch.tensor(b, dtype=torch.float64, requires_grad=True) for b in biases]
    a = torch.as_tensor(X, dtype=torch.float64)
    for W, b in zip(Ws, bs):
        a = torch.sigmoid(a @ W.T + b)
    y = torch.as_tensor(Y, dtype=torch.float64)
    cost = 0.5 * ((a - y) ** 2).sum() / X.shape[0]
    cost.backward()
    return [W.grad.numpy() for W in Ws], [b.grad.numpy() for b in bs]
    # END SOLUTION


class MLP(nn.Module):
    """Fully connected sigmoid network: sizes = [n_0, n_1, ..., n_L], float64 layers."""

    def __init__(self, sizes):
        super().__init__()
        # BEGIN SOLUTION
        pairs = zip(sizes[:-1], sizes[1:])
        self.layers = nn.ModuleList(nn.Linear(i, o) for i, o in pairs)
        # END SOLUTION

    def forward(self, x):
        """x: (m, n_0) tensor. Returns A^L, an (m, n_L) tensor."""
        # BEGIN SOLUTION
        for layer in self.layers:
            x = torch.sigmoid(layer(x))
        return x
        # END SOLUTION


def load_parameters(model, weights, biases):
    """Copy NumPy weights and biases into an MLP's layers, in place (given)."""
    with torch.no_grad():
        for layer, W, b in zip(model.layers, weights, biases):
            layer.weight.copy_(torch.as_tensor(W))
            layer.bias.copy_(torch.as_tensor(b))
    return model


def module_forward(X, weights, biases, device="cpu"):
    """Output of an MLP with the given parameters on ``device``.

    X: (m, n_0). Returns A^L as a NumPy array of shape (m, n_L), float64.
    """
    # BEGIN SOLUTION
    sizes = [weights[0].shape[1]] + [W.shape[0] for W in weights]
    model = load_parameters(MLP(sizes), weights, biases).to(device)
    with torch.no_grad():
        out = model(torch.as_tensor(X, dtype=torch.float32, device=device))
    return out.cpu().numpy()
    # END SOLUTION


def train_step(X, Y, weights, biases, lr, device="cpu"):
    """One SGD step on C = (1/m) sum_x 0.5 ||a^L - y||^2 with torch.optim.SGD.

    Returns (loss, new_weights, new_biases): the loss before the step (float) and lists
    of NumPy arrays with the updated parameters.
    """
    # BEGIN SOLUTION
    sizes = [weights[0].shape[1]] + [W.shape[0] for W in weights]
    model = load_parameters(MLP(sizes), weights, biases).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    x = torch.as_tensor(X, dtype=torch.float32, device=device)
    y = torch.as_tensor(Y, dtype=torch.float32, device=device)
    optimizer.zero_grad()
    loss = 0.5 * ((model(x) - y) ** 2).sum() / x.shape[0]
    loss.backward()
    optimizer.step()
    new_weights = [layer.weight.detach().cpu().numpy() for layer in model.layers]
    new_biases = [layer.bias.detach().cpu().numpy() for layer in model.layers]
    return float(loss), new_weights, new_biases
    # END SOLUTION


def predict(X, weights, biases, device="cpu"):
    """Predicted classes: argmax over the outputs of each row. Returns an int array (m,)."""
    # BEGIN SOLUTION
    return np.argmax(module_forward(X, weights, biases, device), axis=1)
    # END SOLUTION
