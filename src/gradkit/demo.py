"""The first program: a tiny network written with raw tensors, its gradients by backpropagation,
checked against central differences, then trained by gradient descent on XOR.

Run it with ``python -m gradkit``.
"""
import os

import numpy as np

import gradkit as gk


def forward(params, x):
    """y = σ(W2 tanh(W1 x + b1) + b2): two layers of neurons y = f(Σ w x + b)."""
    W1, b1, W2, b2 = params
    return gk.sigmoid(gk.tanh(x @ W1 + b1) @ W2 + b2)


def bce(p, t):
    """Binary cross-entropy: -mean(t ln p + (1 - t) ln(1 - p))."""
    return -(t * p.log() + (1 - t) * (1 - p).log()).mean()


def main():
    gk.manual_seed(0)
    x = gk.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], dtype=gk.float64)
    t = gk.tensor([[0.0], [1.0], [1.0], [0.0]], dtype=gk.float64)
    params = [gk.randn(2, 8, dtype=gk.float64, requires_grad=True),
              gk.zeros(8, dtype=gk.float64, requires_grad=True),
              gk.randn(8, 1, dtype=gk.float64, requires_grad=True),
              gk.zeros(1, dtype=gk.float64, requires_grad=True)]

    loss = bce(forward(params, x), t)
    loss.backward()
    print(f"network 2-8-1 (tanh, sigmoid) on XOR; initial loss {loss.item():.4f}")
    print("backpropagated gradients:")
    for name, p in zip(["W1", "b1", "W2", "b2"], params):
        print(f"  d loss / d {name} = {np.array2string(p.grad.array.ravel(), precision=4)}")

    ok = gk.autograd.gradcheck(lambda *ps: bce(forward(ps, x), t), tuple(params))
    print(f"gradient check against central differences: {'passed' if ok else 'FAILED'}")

    lr = 1.0
    for step in range(1, 1001):
        for p in params:
            p.grad = None
        loss = bce(forward(params, x), t)
        loss.backward()
        with gk.no_grad():  # gradient descent: w <- w - lr * dL/dw
            for p in params:
                p -= lr * p.grad
        if step in (1, 10, 100, 1000):
            print(f"step {step:4d}  loss {loss.item():.4f}")
    pred = forward(params, x).array.ravel()
    print(f"predictions for (0,0) (0,1) (1,0) (1,1): {np.array2string(pred, precision=3)}")
    print(f"the code of this demo, to read and change: {os.path.abspath(__file__)}")
    return ok


if __name__ == "__main__":
    main()
