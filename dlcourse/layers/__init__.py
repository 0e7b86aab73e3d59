"""Modular layers with an explicit forward/backward pair, in the style of the CS231n assignments.

- :mod:`~dlcourse.layers.base`: the ``Layer`` protocol and the containers (Sequential,
  Residual, Concat, Sum);
- :mod:`~dlcourse.layers.core`: Linear, Activation, Dropout;
- :mod:`~dlcourse.layers.dropconnect`: DropConnect (dropped weights instead of units);
- :mod:`~dlcourse.layers.normalization`: BatchNorm1d;
- :mod:`~dlcourse.layers.conv`: Conv2d, MaxPool2d, AvgPool2d, Flatten (images (m, C, H, W));
  GlobalAvgPool2d;
- :mod:`~dlcourse.layers.conv_transpose`: ConvTranspose2d (the adjoint of Conv2d);
- :mod:`~dlcourse.layers.batchnorm2d`: BatchNorm2d (per-channel statistics of images);
- :mod:`~dlcourse.layers.receptive_field`: ``receptive_field`` of a stack of layers;
- :mod:`~dlcourse.layers.model`: ``Model``, a trainable stack of layers with a cost;
- :mod:`~dlcourse.layers.recurrent`: RNN, LSTM, GRU (BPTT), LastStep, PerElement;
- :mod:`~dlcourse.layers.sets`: SetPool (max/mean over set elements), MixtureOfExperts;
- :mod:`~dlcourse.layers.summary`: ``summary`` (parameters, multiply-adds, memory per layer);
- :mod:`~dlcourse.layers.config`: ``from_config``, rebuilding a layer from ``config()``;
- :mod:`~dlcourse.layers.layernorm`: LayerNorm;
- :mod:`~dlcourse.layers.embedding`: Embedding, sinusoidal and learned positional encodings;
- :mod:`~dlcourse.layers.multihead`: MultiHeadAttention (torch's layout, masks);
- :mod:`~dlcourse.layers.transformer`: TransformerEncoderLayer (pre-norm or post-norm).
"""

from dlcourse.layers.base import Concat, Layer, Residual, Sequential, Sum
from dlcourse.layers.batchnorm2d import BatchNorm2d
from dlcourse.layers.config import from_config
from dlcourse.layers.conv import AvgPool2d, Conv2d, Flatten, GlobalAvgPool2d, MaxPool2d
from dlcourse.layers.conv_transpose import ConvTranspose2d
from dlcourse.layers.core import Activation, Dropout, Linear
from dlcourse.layers.dropconnect import DropConnect
from dlcourse.layers.model import Model
from dlcourse.layers.normalization import BatchNorm1d
from dlcourse.layers.receptive_field import receptive_field
from dlcourse.layers.recurrent import GRU, LSTM, RNN, LastStep, PerElement
from dlcourse.layers.sets import MixtureOfExperts, SetPool
from dlcourse.layers.summary import summary

# isort: split
from dlcourse.layers.embedding import (
    Embedding,
    LearnedPositionalEncoding,
    SinusoidalPositionalEncoding,
    sinusoidal_encoding,
)
from dlcourse.layers.layernorm import LayerNorm
from dlcourse.layers.multihead import MultiHeadAttention
from dlcourse.layers.transformer import TransformerEncoderLayer

__all__ = [
    "Layer",
    "Linear",
    "Activation",
    "Dropout",
    "DropConnect",
    "BatchNorm1d",
    "Conv2d",
    "MaxPool2d",
    "AvgPool2d",
    "Flatten",
    "Sequential",
    "Residual",
    "Concat",
    "Sum",
    "Model",
    "from_config",
    "RNN",
    "LSTM",
    "GRU",
    "LastStep",
    "PerElement",
    "SetPool",
    "MixtureOfExperts",
    "summary",
    "BatchNorm2d",
    "ConvTranspose2d",
    "GlobalAvgPool2d",
    "receptive_field",
    "LayerNorm",
    "Embedding",
    "SinusoidalPositionalEncoding",
    "LearnedPositionalEncoding",
    "sinusoidal_encoding",
    "MultiHeadAttention",
    "TransformerEncoderLayer",
]
