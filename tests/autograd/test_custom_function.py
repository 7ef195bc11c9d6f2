"""Custom autograd Functions in PyTorch's form (autograd/custom_function.py).

The Functions below are written once, as source text that starts with ``import torch``, and run
twice: with PyTorch, and with that line read as ``import gradkit as torch``. Values and
gradients must agree in float64.
"""
import types

import numpy as np
import pytest
import torch

import gradkit as gk
from gradkit.autograd.function import Function
from oracle import check

SOURCE = '''
import torch

SEEN = []  # what some backwards received, for the tests to read


class MyReLU(torch.autograd.Function):  # the tutorial's
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return input.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[input < 0] = 0
        return grad_input


class LegendrePolynomial3(torch.autograd.Function):  # "Defining new autograd functions"
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)


class Exp(torch.autograd.Function):  # "Extending PyTorch": saves its output
    @staticmethod
    def forward(ctx, i):
        result = i.exp()
        ctx.save_for_backward(result)
        return result

    @staticmethod
    def backward(ctx, grad_output):
        result, = ctx.saved_tensors
        return grad_output * result


class MulConstant(torch.autograd.Function):  # a non-tensor argument, kept on ctx
    @staticmethod
    def forward(ctx, tensor, constant):
        ctx.constant = constant
        return tensor * constant

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output * ctx.constant, None


class LinearFunction(torch.autograd.Function):  # "Extending PyTorch": needs_input_grad
    @staticmethod
    def forward(ctx, input, weight, bias=None):
        ctx.save_for_backward(input, weight, bias)
        SEEN.append(ctx.needs_input_grad)
        output = input.mm(weight.t())
        if bias is not None:
            output += bias.unsqueeze(0).expand_as(output)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        input, weight, bias = ctx.saved_tensors
        grad_input = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_input = grad_output.mm(weight)
        if ctx.needs_input_grad[1]:
            grad_weight = grad_output.t().mm(input)
        if bias is not None and ctx.needs_input_grad[2]:
            grad_bias = grad_output.sum(0)
        return grad_input, grad_weight, grad_bias


class AddMul(torch.autograd.Function):  # two tensor inputs, a number, two outputs
    @staticmethod
    def forward(ctx, a, b, scale):
        ctx.scale = scale
        ctx.save_for_backward(a, b)
        return (a + b) * scale, a * b

    @staticmethod
    def backward(ctx, grad_sum, grad_prod):
        a, b = ctx.saved_tensors
        return grad_sum * ctx.scale + grad_prod * b, grad_sum * ctx.scale + grad_prod * a, None


class SinCos(torch.autograd.Function):  # None for an output that got no gradient
    @staticmethod
    def forward(ctx, x):
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(x)
        return x.sin(), x.cos()

    @staticmethod
    def backward(ctx, grad_sin, grad_cos):
        x, = ctx.saved_tensors
        SEEN.append((grad_sin is None, grad_cos is None))
        grad = 0
        if grad_sin is not None:
            grad = grad + grad_sin * x.cos()
        if grad_cos is not None:
            grad = grad - grad_cos * x.sin()
        return grad


class MaxWithIndex(torch.autograd.Function):  # an argmax-like integer output
    @staticmethod
    def forward(ctx, x, dim):
        indices = x.argmax(dim)
        values = x.gather(dim, indices.unsqueeze(dim)).squeeze(dim)
        ctx.mark_non_differentiable(indices)
        ctx.save_for_backward(indices)
        ctx.dim, ctx.shape = dim, x.shape
        return values, indices

    @staticmethod
    def backward(ctx, grad_values, grad_indices):
        indices, = ctx.saved_tensors
        SEEN.append(tuple(grad_indices.shape))  # materialized: zeros of the output's shape
        grad = torch.zeros(ctx.shape, dtype=grad_values.dtype)
        return grad.scatter_add(ctx.dim, indices.unsqueeze(ctx.dim),
                                grad_values.unsqueeze(ctx.dim)), None


class MulInPlace(torch.autograd.Function):  # mark_dirty: forward changes its input in place
    @staticmethod
    def forward(ctx, x, k):
        x.mul_(k)
        ctx.mark_dirty(x)
        ctx.k = k
        return x

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output * ctx.k, None


class Power(torch.autograd.Function):  # PyTorch 2.x: forward without ctx, and setup_context
    @staticmethod
    def forward(x, k=3):
        return x ** k

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, k = inputs
        ctx.save_for_backward(x)
        ctx.k = k

    @staticmethod
    def backward(ctx, grad_output):
        x, = ctx.saved_tensors
        return grad_output * ctx.k * x ** (ctx.k - 1), None


class Broadcasting(torch.autograd.Function):  # a gradient of a shape the input broadcasts to
    @staticmethod
    def forward(ctx, b, x):
        return x + b

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output, grad_output  # b's is summed down to b's shape
'''


def _define(torch_module_line):
    ns = {}
    exec(compile(SOURCE.replace("import torch", torch_module_line), "<custom functions>", "exec"), ns)
    return types.SimpleNamespace(**ns)


def _both():
    return _define("import gradkit as torch"), _define("import torch")


GK, PT = _both()


def _tensors(arrays):
    gx = [gk.tensor(a, dtype=gk.float64, requires_grad=True) for a in arrays]
    tx = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    return gx, tx


# === the tutorial's Functions, against PyTorch ==============================
@pytest.mark.parametrize("name", ["MyReLU", "LegendrePolynomial3", "Exp"])
@pytest.mark.parametrize("shape", [(5,), (3, 4), ()])
def test_tutorial_functions_match_pytorch_and_pass_gradcheck(name, shape):
    check(getattr(GK, name).apply, getattr(PT, name).apply, shapes=[shape])


def test_tutorial_training_loop_matches_pytorch():
    # the tutorial's loop: y = a + b P3(c + d x), fitted to sin(x) by hand-written SGD
    xs = np.linspace(-np.pi, np.pi, 200)
    results = []
    for lib, ns in ((gk, GK), (torch, PT)):
        x, y = lib.tensor(xs, dtype=lib.float64), lib.tensor(np.sin(xs), dtype=lib.float64)
        a, b, c, d = (lib.full((), v, dtype=lib.float64, requires_grad=True)
                      for v in (0.0, -1.0, 0.0, 0.3))
        for _ in range(50):
            y_pred = a + b * ns.LegendrePolynomial3.apply(c + d * x)
            loss = (y_pred - y).pow(2).sum()
            loss.backward()
            with lib.no_grad():
                for p in (a, b, c, d):
                    p -= 5e-6 * p.grad
                    p.grad = None
        results.append([float(p.detach()) for p in (a, b, c, d, loss)])
    # (a and c stay at 0 by symmetry, up to rounding: ~1e-19)
    np.testing.assert_allclose(results[0], results[1], rtol=1e-10, atol=1e-15)
    assert results[0][4] < 31  # the loss went down from its start (~109)


def test_gradcheck_with_the_function_itself():
    x = gk.tensor(np.linspace(-1, 1, 6).reshape(2, 3), requires_grad=True)
    assert gk.autograd.gradcheck(GK.LegendrePolynomial3.apply, (x,))
    assert gk.autograd.gradcheck(GK.MulConstant.apply, (x, 2.5))


def test_the_node_is_named_after_the_function():
    x = gk.tensor([1.0, -2.0], requires_grad=True)
    y = GK.MyReLU.apply(x)
    assert type(y.grad_fn).__name__ == "MyReLUBackward" == type(PT.MyReLU.apply(
        torch.tensor([1.0], requires_grad=True)).grad_fn).__name__
    assert repr(y.grad_fn) == "<MyReLUBackward>"
    assert y.grad_fn.next_functions[0][0] is x


# === arguments: non-tensors, needs_input_grad, several outputs =============
def test_non_tensor_argument_kept_on_ctx():
    check(lambda x: GK.MulConstant.apply(x, 2.5), lambda x: PT.MulConstant.apply(x, 2.5),
          shapes=[(3, 2)])


@pytest.mark.parametrize("bias", [True, False])
def test_linear_function_matches_pytorch(bias):
    shapes = [(4, 3), (2, 3)] + ([(2,)] if bias else [])
    check(GK.LinearFunction.apply, PT.LinearFunction.apply, shapes=shapes)


@pytest.mark.parametrize("requires", [(True, False, True), (False, True, False), (True, True, True)])
def test_needs_input_grad_matches_pytorch(requires):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in [(4, 3), (2, 3), (2,)]]
    got = []
    for lib, ns in ((gk, GK), (torch, PT)):
        ns.SEEN.clear()
        xs = [lib.tensor(a, dtype=lib.float64, requires_grad=r) for a, r in zip(arrays, requires)]
        out = ns.LinearFunction.apply(*xs)
        out.sum().backward()
        grads = [None if x.grad is None else x.grad.numpy() for x in xs]
        got.append((list(ns.SEEN), grads))
    assert got[0][0] == got[1][0] == [requires]
    for g, t in zip(got[0][1], got[1][1]):
        assert (g is None) == (t is None)
        if g is not None:
            np.testing.assert_allclose(g, t, rtol=1e-12)


def test_needs_input_grad_without_recording():
    x = gk.tensor([[1.0, 2.0]], requires_grad=True)
    GK.SEEN.clear()
    with gk.no_grad():
        out = GK.LinearFunction.apply(x, gk.ones(3, 2))
    assert not out.requires_grad and out.grad_fn is None
    assert GK.SEEN == [(True, False)]  # as PyTorch: per argument given, whatever the grad mode


def test_two_inputs_a_number_two_outputs():
    check(lambda a, b: GK.AddMul.apply(a, b, 3.0), lambda a, b: PT.AddMul.apply(a, b, 3.0),
          shapes=[(3, 2), (3, 2)])


def test_outputs_share_the_node_name_and_only_one_output_used():
    a, b = (gk.tensor([1.0, 2.0], dtype=gk.float64, requires_grad=True) for _ in range(2))
    s, p = GK.AddMul.apply(a, b, 3.0)
    assert repr(s.grad_fn) == repr(p.grad_fn) == "<AddMulBackward>"
    p.sum().backward()  # s got no gradient: backward receives zeros for it
    np.testing.assert_allclose(a.grad.array, b.array)


def test_materialize_grads_off_gives_none_for_an_unused_output():
    seen = []
    for lib, ns in ((gk, GK), (torch, PT)):
        ns.SEEN.clear()
        x = lib.tensor([0.5, 1.5], dtype=lib.float64, requires_grad=True)
        s, c = ns.SinCos.apply(x)
        (c * 2).sum().backward()
        seen.append((list(ns.SEEN), x.grad.numpy().tolist()))
    assert seen[0][0] == seen[1][0] == [(True, False)]
    np.testing.assert_allclose(seen[0][1], seen[1][1], rtol=1e-12)
    check(GK.SinCos.apply, PT.SinCos.apply, shapes=[(4,)])


def test_several_outputs_meeting_again_downstream():
    # both outputs feed one expression: their gradients reach the node together
    check(lambda x: (lambda s, c: s * c + s)(*GK.SinCos.apply(x)),
          lambda x: (lambda s, c: s * c + s)(*PT.SinCos.apply(x)), shapes=[(5,)])


def test_mark_non_differentiable_integer_output():
    seen = []
    x_np = np.random.default_rng(1).standard_normal((3, 4))
    for lib, ns in ((gk, GK), (torch, PT)):
        ns.SEEN.clear()
        x = lib.tensor(x_np, dtype=lib.float64, requires_grad=True)
        values, indices = ns.MaxWithIndex.apply(x, 1)
        assert values.requires_grad and not indices.requires_grad
        (values * lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64)).sum().backward()
        seen.append((values.detach().numpy(), indices.numpy(), x.grad.numpy(), list(ns.SEEN)))
    for g, t in zip(seen[0][:3], seen[1][:3]):
        np.testing.assert_allclose(g, t, rtol=1e-12)
    assert seen[0][3] == seen[1][3] == [(3,)]


def test_mark_non_differentiable_float_output():
    class WithMask(Function):
        @staticmethod
        def forward(ctx, x):
            mask = (x > 0).to(x.dtype)
            ctx.mark_non_differentiable(mask)
            return x * mask, mask

        @staticmethod
        def backward(ctx, grad, grad_mask):
            return grad

    y, mask = WithMask.apply(gk.tensor([1.0, -1.0], requires_grad=True))
    assert y.requires_grad and not mask.requires_grad and mask.grad_fn is None


def test_setup_context_form_with_defaults_and_keywords():
    check(GK.Power.apply, PT.Power.apply, shapes=[(3,)])
    check(lambda x: GK.Power.apply(x, k=2), lambda x: PT.Power.apply(x, k=2), shapes=[(3,)])


def test_keyword_argument_is_an_input():
    x = gk.tensor([1.0, 2.0], dtype=gk.float64, requires_grad=True)
    GK.MulConstant.apply(x, constant=4.0).sum().backward()
    np.testing.assert_allclose(x.grad.array, [4.0, 4.0])


def test_gradient_of_a_broadcast_shape_is_summed_down():
    check(GK.Broadcasting.apply, PT.Broadcasting.apply, shapes=[(3,), (2, 3)])
    check(GK.Broadcasting.apply, PT.Broadcasting.apply, shapes=[(2, 1), (2, 3)])


def test_mark_dirty_in_place_forward():
    got = []
    for lib, ns in ((gk, GK), (torch, PT)):
        x = lib.tensor([1.0, -2.0], dtype=lib.float64, requires_grad=True)
        a = x * 1  # a non-leaf: forward may change it in place
        out = ns.MulInPlace.apply(a, 3.0)
        assert out is a and type(a.grad_fn).__name__ == "MulInPlaceBackward"
        (out * out).sum().backward()
        got.append((a.detach().numpy(), x.grad.numpy()))
    for g, t in zip(*got):
        np.testing.assert_allclose(g, t, rtol=1e-12)


def test_mark_dirty_on_a_leaf_that_requires_grad_raises():
    x = gk.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"MulInPlaceBackward: forward changed input 0 in place"):
        GK.MulInPlace.apply(x, 2.0)


# === second derivatives ====================================================
@pytest.mark.parametrize("name", ["LegendrePolynomial3", "Exp", "SinCos"])
def test_double_backward_through_a_differentiable_backward(name):
    x_np = np.linspace(-1.2, 1.3, 5)
    got = []
    for lib, ns in ((gk, GK), (torch, PT)):
        x = lib.tensor(x_np, dtype=lib.float64, requires_grad=True)
        out = getattr(ns, name).apply(x)
        y = sum(o.sum() for o in out) if isinstance(out, tuple) else out.sum()
        (g,) = lib.autograd.grad(y, x, create_graph=True)
        assert g.requires_grad
        (h,) = lib.autograd.grad((g * g).sum(), x)
        got.append((g.detach().numpy(), h.numpy()))
    for a, b in zip(*got):
        np.testing.assert_allclose(a, b, rtol=1e-10)


def test_backward_without_create_graph_records_nothing():
    x = gk.tensor([0.5, 2.0], dtype=gk.float64, requires_grad=True)
    (g,) = gk.grad(GK.LegendrePolynomial3.apply(x).sum(), x)
    assert not g.requires_grad


# === saved tensors =========================================================
def test_saved_input_modified_in_place_after_forward_raises():
    x = gk.tensor([1.0, -2.0], requires_grad=True)
    a = x.clone()
    y = GK.MyReLU.apply(a)
    a.add_(1)
    with pytest.raises(RuntimeError, match=r"MyReLUBackward: one of the tensors needed for "
                                           r"gradient computation \(ctx.saved_tensors\[0\]\) has "
                                           r"been modified by an in-place operation \(its version "
                                           r"is 1, expected 0\)"):
        y.sum().backward()


def test_saved_output_modified_in_place_after_forward_raises():
    x = gk.tensor([1.0, -2.0], requires_grad=True)
    y = GK.Exp.apply(x)
    y.mul_(2)
    with pytest.raises(RuntimeError, match=r"ExpBackward: one of the tensors needed .* modified "
                                           r"by an in-place operation"):
        y.sum().backward()


def test_saved_tensors_are_freed_after_backward():
    x = gk.tensor([1.0, -2.0], requires_grad=True)
    y = GK.MyReLU.apply(x).sum()
    y.backward(retain_graph=True)
    y.backward()  # retained once: fine
    np.testing.assert_allclose(x.grad.array, [2.0, 0.0])
    with pytest.raises(RuntimeError, match=r"MyReLUBackward: trying to backward through the graph "
                                           r"a second time"):
        y.backward()


def test_save_for_backward_refuses_a_number():
    class SavesNumber(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x, 3)
            return x * 2

    with pytest.raises(TypeError, match=r"SavesNumberBackward: save_for_backward can only save "
                                        r"Tensors \(or None\), but argument 1 is of type int"):
        SavesNumber.apply(gk.ones(2, requires_grad=True))


# === errors: what backward returned ========================================
def _fn(backward, forward=lambda ctx, x, y: x * y):
    return type("Custom", (Function,), {"forward": staticmethod(forward),
                                        "backward": staticmethod(backward)})


def _run(fn, *shapes):
    xs = [gk.ones(*s, requires_grad=True) for s in shapes]
    fn.apply(*xs).sum().backward()
    return xs


def test_wrong_number_of_gradients_names_function_and_counts():
    fn = _fn(lambda ctx, g: g)
    with pytest.raises(RuntimeError, match=r"CustomBackward returned an incorrect number of "
                                           r"gradients \(expected 2, got 1\)"):
        _run(fn, (3,), (3,))


def test_trailing_nones_are_accepted():
    fn = _fn(lambda ctx, g: (g, g, None, None))
    xs = _run(fn, (3,), (3,))
    np.testing.assert_allclose(xs[1].grad.array, np.ones(3))


def test_wrong_gradient_shape_names_input_and_shapes():
    fn = _fn(lambda ctx, g: (g, g[:2]))
    with pytest.raises(RuntimeError, match=r"CustomBackward returned an invalid gradient for "
                                           r"input 1: expected shape \(3,\) \(the input's shape\), "
                                           r"got \(2,\)"):
        _run(fn, (3,), (3,))


def test_gradient_for_a_non_tensor_input_raises():
    fn = _fn(lambda ctx, g: (g, g), forward=lambda ctx, x, k: x * k)
    with pytest.raises(RuntimeError, match=r"CustomBackward returned a gradient different from "
                                           r"None for input 1, but forward's input 1 was not a "
                                           r"Tensor"):
        fn.apply(gk.ones(3, requires_grad=True), 2.0).sum().backward()


def test_gradient_that_is_not_a_tensor_raises():
    fn = _fn(lambda ctx, g: (g.numpy(), None))
    with pytest.raises(TypeError, match=r"CustomBackward returned a numpy.ndarray as the gradient "
                                        r"of input 0; expected a Tensor or None"):
        _run(fn, (3,), (3,))


def test_gradient_for_an_input_that_needs_none_is_dropped():
    fn = _fn(lambda ctx, g: (g * 2, g * 3))
    x, y = gk.ones(3, requires_grad=True), gk.ones(3)
    fn.apply(x, y).sum().backward()
    np.testing.assert_allclose(x.grad.array, 2 * np.ones(3))
    assert y.grad is None


def test_forward_returning_a_numpy_array_says_which_form():
    fn = _fn(lambda ctx, g: g, forward=lambda ctx, x: x.numpy() * 2)
    with pytest.raises(TypeError, match=r"Custom.forward returned a NumPy array; a Function whose "
                                        r"forward is a @staticmethod is written in PyTorch's form"):
        fn.apply(gk.ones(2, requires_grad=True))


def test_missing_backward_raises_at_backward():
    class NoBackward(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

    y = NoBackward.apply(gk.ones(2, requires_grad=True))
    with pytest.raises(NotImplementedError, match=r"NoBackward: the custom Function defines no "
                                                  r"backward"):
        y.sum().backward()


def test_gradients_cast_to_the_input_dtype():
    fn = _fn(lambda ctx, g: (g.double(), None), forward=lambda ctx, x, y: x * y)
    x = gk.ones(3, requires_grad=True)
    fn.apply(x, gk.ones(3)).sum().backward()
    assert x.grad.dtype == np.float32


# === gradkit's own ops keep their apply ====================================
def test_own_ops_keep_the_array_form_apply():
    from gradkit.ops.elementwise import Mul

    assert Mul.apply.__func__ is Function.__dict__["apply"].__func__
    assert "_backward_cls" not in vars(Mul)
    assert GK.MyReLU.apply.__func__ is not Function.__dict__["apply"].__func__
    x, y = gk.ones(2, requires_grad=True), gk.ones(2)
    assert type((x * y).grad_fn) is Mul


def test_subclass_of_a_pytorch_form_function_gets_its_own_node_class():
    class Double(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    class Quadruple(Double):
        @staticmethod
        def backward(ctx, g):
            return g * 4

    x = gk.ones(2, requires_grad=True)
    y = Quadruple.apply(x)
    assert repr(y.grad_fn) == "<QuadrupleBackward>"
    y.sum().backward()
    np.testing.assert_allclose(x.grad.array, [4.0, 4.0])


def test_hooks_and_retain_grad_on_outputs():
    a = gk.tensor([1.0, 2.0], dtype=gk.float64, requires_grad=True)
    s, p = GK.AddMul.apply(a, a, 1.0)
    p.retain_grad()
    s.register_hook(lambda g: g * 10)
    (s + 2 * p).sum().backward()
    np.testing.assert_allclose(p.grad.array, [2.0, 2.0])
    # d/da of 10 * 2a (s, hooked) + 2 a² (p)
    np.testing.assert_allclose(a.grad.array, 20 + 4 * a.array)
