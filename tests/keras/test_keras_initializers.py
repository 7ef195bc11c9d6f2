"""Keras initializers draw through nn.init: unseeded from the global generator (as
keras.utils.set_random_seed sets it), seeded from their own generator, passed as nn.init's
``generator=``, so that the global generator is neither advanced nor replaced."""
import math

import numpy as np
import pytest

import gradkit as gk
import gradkit.keras as keras
from gradkit.keras import initializers as I
from gradkit.nn import init

RANDOM = [I.GlorotUniform, I.GlorotNormal, I.HeNormal, I.HeUniform, I.LecunNormal,
          I.LecunUniform, I.RandomNormal, I.RandomUniform, I.TruncatedNormal, I.Orthogonal]


@pytest.mark.parametrize("cls", RANDOM)
def test_a_seeded_initializer_leaves_the_global_generator_alone(cls):
    keras.utils.set_random_seed(0)
    generator, state = gk.random.get_generator(), gk.random.get_rng_state()
    a = cls(seed=7)((4, 6))
    b = cls(seed=7)((4, 6))
    np.testing.assert_array_equal(a, b)                       # the same values at every call
    assert gk.random.get_generator() is generator             # not replaced
    assert gk.random.get_rng_state() == state                 # not advanced
    keras.utils.set_random_seed(7)
    np.testing.assert_array_equal(cls()((4, 6)), a)           # = unseeded after set_random_seed


@pytest.mark.parametrize("cls", RANDOM)
def test_an_unseeded_initializer_continues_the_global_generator(cls):
    keras.utils.set_random_seed(3)
    a, b = cls()((5, 3)), cls()((5, 3))
    assert not np.array_equal(a, b)
    keras.utils.set_random_seed(3)
    np.testing.assert_array_equal(cls()((5, 3)), a)


def test_the_keras_rules_are_nn_init_calls_with_a_generator():
    shape = (3, 3, 4, 8)                                      # a Conv2D kernel, Keras layout
    fan_in, fan_out = 3 * 3 * 4, 3 * 3 * 8
    limit = math.sqrt(6 / (fan_in + fan_out))
    t = gk.empty(*shape)
    init.uniform_(t, -limit, limit, generator=np.random.default_rng(1))
    np.testing.assert_array_equal(I.GlorotUniform(seed=1)(shape), t.array)
    std = math.sqrt(2 / fan_in) / 0.87962566103423978
    init.trunc_normal_(t, 0.0, std, -2 * std, 2 * std, generator=np.random.default_rng(2))
    np.testing.assert_array_equal(I.HeNormal(seed=2)(shape), t.array)
    flat = gk.empty(3 * 3 * 4, 8)
    init.orthogonal_(flat, 1.5, generator=np.random.default_rng(3))
    np.testing.assert_array_equal(I.Orthogonal(gain=1.5, seed=3)(shape),
                                  flat.array.reshape(shape))
