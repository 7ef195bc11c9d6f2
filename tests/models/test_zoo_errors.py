"""Bad arguments to the zoo's models give errors that say what was expected, what was given and
what to do, before any work is wasted."""
import pytest

import gradkit as gk
from gradkit import models as M


@pytest.mark.parametrize("make, pattern", [
    (lambda: M.ResNet(18), r"depth must be 6n \+ 2.*8, 14, 20, 32, 44, 56, 110.*got 18"),
    (lambda: M.MLP((784,)), r"MLP: sizes must be two or more positive ints.*\(784,\)"),
    (lambda: M.MLP((784, 0, 10)), r"MLP: sizes must be two or more positive ints"),
    (lambda: M.MLP(dropout=1.0), r"MLP: dropout must be in \[0, 1\)"),
    (lambda: M.MLP(activation="swish"), r"MLP: activation must be one of \[.*'relu'.*got 'swish'"),
    (lambda: M.LeNet5(image_size=64), r"LeNet5: image_size must be 28.*or 32.*got 64.*ConvNet"),
    (lambda: M.ConvNet(channels=()), r"ConvNet: channels must name at least one conv block"),
    (lambda: M.ConvNet(image_size=8, channels=(4, 8, 16, 32)),
     r"ConvNet: 4 blocks halve a 8px image 4 times, to nothing"),
    (lambda: M.CharRNN(10, cell="transformer"),
     r"CharRNN: cell must be one of \['gru', 'lstm', 'rnn'\], got 'transformer'"),
    (lambda: M.GPT(10, n_head=3, n_embd=16), r"n_embd \(16\) must be divisible by n_head \(3\)"),
    (lambda: M.TransformerClassifier(10, pooling="max"),
     r"pooling must be one of \('mean', 'cls'\), got 'max'"),
    (lambda: M.create_model("alexnet"), r"no model named 'alexnet'; the zoo has .*lenet5"),
])
def test_bad_constructor_arguments(make, pattern):
    with pytest.raises(ValueError, match=pattern):
        make()


@pytest.mark.parametrize("model, x, pattern", [
    (lambda: M.LeNet5(), gk.randn(2, 3, 28, 28), r"LeNet5: expected images \(N, 1, 28, 28\), "
                                                 r"got shape \(2, 3, 28, 28\)"),
    (lambda: M.ConvNet(), gk.randn(2, 1, 32, 32), r"ConvNet: expected images \(N, 1, 28, 28\)"),
    (lambda: M.resnet8(), gk.randn(2, 1, 28, 28), r"ResNet: expected images \(N, 3, H, W\).*"
                                                  r"in_channels"),
    (lambda: M.ConvAutoencoder(), gk.randn(2, 1, 30, 30), r"H and W divisible by 4"),
    (lambda: M.CharRNN(5), gk.tensor([1, 2, 3]),
     r"CharRNN: expected ids \(B, T\), got shape \(3,\)"),
    (lambda: M.GPT(5, block_size=4), gk.tensor([[1, 2, 3, 4, 0]]),
     r"GPT: the sequence has 5 tokens, more than block_size 4.*last 4.*generate\(\) crops"),
    (lambda: M.TransformerClassifier(5, max_len=4), gk.tensor([[1, 2, 3, 4, 1]]),
     r"5 tokens, more than max_len 4"),
    (lambda: M.DCGAN(nz=8).generator, gk.randn(2, 9), r"Generator: expected noise \(N, 8\)"),
    (lambda: M.DCGAN().discriminator, gk.randn(2, 1, 32, 32),
     r"Discriminator: expected images \(N, 1, 28, 28\), got shape \(2, 1, 32, 32\)"),
])
def test_bad_inputs(model, x, pattern):
    with pytest.raises(ValueError, match=pattern):
        model()(x)


@pytest.mark.parametrize("generate_kwargs, pattern", [
    (dict(temperature=0.0), r"temperature must be > 0 when sampling, got 0.0; use do_sample=False"),
    (dict(top_k=0), r"top_k must be a positive int or None, got 0"),
    (dict(top_k=2.5), r"top_k must be a positive int or None, got 2.5"),
])
@pytest.mark.parametrize("make", [lambda: M.GPT(7, block_size=4, n_layer=1, n_head=1, n_embd=8),
                                  lambda: M.CharRNN(7, hidden_size=8, num_layers=1)])
def test_bad_sampling_settings(make, generate_kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        make().generate(gk.tensor([[1, 2]]), 3, **generate_kwargs)


def test_an_empty_prompt_is_refused():
    with pytest.raises(ValueError, match=r"GPT.generate: the prompt is empty"):
        M.GPT(7, n_layer=1, n_head=1, n_embd=8).generate(gk.zeros(1, 0, dtype=gk.int64), 3)


def test_greedy_decoding_accepts_any_temperature():
    out = M.GPT(7, n_layer=1, n_head=1, n_embd=8).generate(gk.tensor([[1]]), 2, temperature=0.0,
                                                           do_sample=False)
    assert out.shape == (1, 3)
