"""Release and grade the course exercises.

The modules, in the order data flows through them:

* ``release``   -- ``solutions/NN_topic.ipynb`` -> ``exercises/NN_topic.ipynb`` (stubs)
* ``extract``   -- a submission (notebook or .py) -> the student's code, cell by cell
* ``codec``     -- the pickle-free wire format (JSON tags + ``np.save`` bytes) both sides share
* ``sandbox``   -- how the untrusted worker process is started (isolation level, limits)
* ``bwrap``     -- the bubblewrap command line: namespaces, what the worker sees
* ``group``     -- all the worker's processes: their memory together, ending them all
* ``uids``      -- an unprivileged user id per live worker for a root grader
* ``guard``     -- runs in the worker: the course package is not importable (and says so)
* ``worker``    -- the loop that runs *inside* the worker: exec the code, serve calls
* ``proxy``     -- the ``student`` object the grading tests use: every use becomes a message
* ``plugin``    -- the pytest side: options, markers, the ``student`` fixture
* ``recorder``  -- a pytest plugin recording outcome, points and feedback per test
* ``runner``    -- ``dlcourse grade``: one pytest subprocess per submission, in parallel
* ``report``    -- text table, Gradescope JSON, CSV summary
* ``check``     -- ``dlcourse.check("NN")`` for students, inside their own kernel (the wheel
  ships their public tests in ``public_tests/``, cut by the build step ``tools/public_tests.py``)
* ``gradescope`` -- ``dlcourse release --gradescope``: the autograder zip and its entry point
* ``gradescope_image`` -- what the zip's image needs: pinned releases, their Python, the wheel
* ``testing``   -- helpers for grading tests: ``call``, ``InPlace``, ``assert_close``

The security property: the process that computes scores (pytest) never executes student
code. Student code runs only in the worker, confined by bubblewrap (no network, nothing of
the machine but the interpreter, no course package; the grader refuses where that cannot
be set up, unless told ``--isolation weak``), whose answers come back as plain data (the
proxy never asks it for a ``__dunder__`` attribute); the feedback of a hidden test
contains nothing the student's code chose (see ``proxy``).
"""
