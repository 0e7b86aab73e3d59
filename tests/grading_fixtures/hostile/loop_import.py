# An infinite loop at import (top level of the notebook).
while True:
    pass
