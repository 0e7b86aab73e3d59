"""dlcourse: the companion package of the course on feedforward neural networks."""

__version__ = "0.1.0"
