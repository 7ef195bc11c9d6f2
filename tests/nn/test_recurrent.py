"""RNN, LSTM, GRU and their cells (gradkit/nn/recurrent.py, nn/functional/recurrent.py) against
PyTorch: the same weights (moved by state_dict, which checks the key names) and inputs give the
same outputs, final states, and gradients for the input, the initial states and every parameter
(float64, rtol 1e-6); plus gradcheck, second derivatives, default init and error messages."""
import numpy as np
import pytest
import torch

import gradkit as gk
from gradkit import nn

RTOL, ATOL = 1e-6, 1e-9
KINDS = [("RNN", {}), ("RNN", {"nonlinearity": "relu"}), ("LSTM", {}), ("GRU", {})]
KIND_IDS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]


def _copy_from_torch(g, t):
    g.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})


def _pair(cls, *args, **kw):
    """The same layer in PyTorch and gradkit, float64, gradkit's weights copied from PyTorch's."""
    t = getattr(torch.nn, cls)(*args, **kw).double()
    g = getattr(nn, cls)(*args, **kw).double()
    _copy_from_torch(g, t)
    return g, t


def _flat(out):
    """(output, h_n) or (output, (h_n, c_n)) (or one tensor, from a cell) -> a list of tensors."""
    if isinstance(out, (gk.Tensor, torch.Tensor)):
        return [out]
    res = []
    for o in out:
        res.extend(o if isinstance(o, tuple) else [o])
    return res


def _compare(g, t, inputs, rng, rtol=RTOL, atol=ATOL, call=None):
    """Run both layers on the same inputs (arrays, or tuples of arrays for LSTM states), compare
    every output, then backpropagate the same random upstream gradients and compare the
    gradients of every input and parameter."""
    def tensors(lib, a):
        if a is None:
            return None
        if isinstance(a, tuple):
            return tuple(tensors(lib, x) for x in a)
        return lib.tensor(a, requires_grad=True) if lib is torch else gk.tensor(a, requires_grad=True)

    gin = [tensors(gk, a) for a in inputs]
    tin = [tensors(torch, a) for a in inputs]
    call = call or (lambda m, *xs: m(*xs))
    gout, tout = _flat(call(g, *gin)), _flat(call(t, *tin))
    assert len(gout) == len(tout)
    for i, (go, to) in enumerate(zip(gout, tout)):
        assert go.shape == tuple(to.shape), f"output {i}: shape {go.shape} vs {tuple(to.shape)}"
        np.testing.assert_allclose(go.array, to.detach().numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"output {i}")
    ups = [rng.standard_normal(o.shape) for o in gout]
    sum((o * gk.tensor(u)).sum() for o, u in zip(gout, ups)).backward()
    sum((o * torch.tensor(u)).sum() for o, u in zip(tout, ups)).backward()
    flat_g = [x for a in gin for x in (a if isinstance(a, tuple) else [a]) if x is not None]
    flat_t = [x for a in tin for x in (a if isinstance(a, tuple) else [a]) if x is not None]
    for i, (gx, tx) in enumerate(zip(flat_g, flat_t)):
        np.testing.assert_allclose(gx.grad.array, tx.grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"gradient of input {i}")
    gparams = dict(g.named_parameters())
    for name, p in t.named_parameters():
        np.testing.assert_allclose(gparams[name].grad.array, p.grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"gradient of {name}")
    return gout


# === full layers against PyTorch ===========================================
@pytest.mark.parametrize("kind,kw", KINDS, ids=KIND_IDS)
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("with_state", [False, True])
def test_layer_matches_torch(kind, kw, bidirectional, batch_first, with_state):
    rng = np.random.default_rng(0)
    L, N, T, H_in, H = 2, 3, 5, 4, 6
    D = 2 if bidirectional else 1
    g, t = _pair(kind, H_in, H, num_layers=L, bidirectional=bidirectional,
                 batch_first=batch_first, **kw)
    x = rng.standard_normal((N, T, H_in) if batch_first else (T, N, H_in))
    hx = None
    if with_state:
        h0 = rng.standard_normal((L * D, N, H))
        hx = (h0, rng.standard_normal((L * D, N, H))) if kind == "LSTM" else h0
    out = _compare(g, t, [x, hx], rng)
    assert out[0].shape == ((N, T, D * H) if batch_first else (T, N, D * H))


@pytest.mark.parametrize("kind,kw", KINDS, ids=KIND_IDS)
@pytest.mark.parametrize("with_state", [False, True])
def test_unbatched_input_matches_torch(kind, kw, with_state):
    rng = np.random.default_rng(1)
    g, t = _pair(kind, 3, 4, num_layers=2, bidirectional=True, **kw)
    x = rng.standard_normal((6, 3))
    hx = None
    if with_state:
        hx = (rng.standard_normal((4, 4)), rng.standard_normal((4, 4))) if kind == "LSTM" \
            else rng.standard_normal((4, 4))
    out = _compare(g, t, [x, hx], rng)
    assert out[0].shape == (6, 8) and out[1].shape == (4, 4)


@pytest.mark.parametrize("kind,kw", KINDS, ids=KIND_IDS)
def test_without_bias_matches_torch(kind, kw):
    rng = np.random.default_rng(2)
    g, t = _pair(kind, 3, 5, num_layers=2, bias=False, **kw)
    assert "bias_ih_l0" not in g.state_dict()
    _compare(g, t, [rng.standard_normal((4, 2, 3))], rng)


def test_single_layer_single_step_matches_torch():
    rng = np.random.default_rng(3)
    g, t = _pair("LSTM", 2, 3)
    _compare(g, t, [rng.standard_normal((1, 1, 2))], rng)


def test_loss_on_part_of_the_output_matches_torch():
    # only the first time step is used: the forward direction's later steps get no gradient
    rng = np.random.default_rng(4)
    g, t = _pair("GRU", 3, 4, bidirectional=True)
    x = rng.standard_normal((5, 2, 3))
    _compare(g, t, [x], rng, call=lambda m, x: (m(x)[0][0],))


@pytest.mark.parametrize("kind,kw", KINDS, ids=KIND_IDS)
def test_dropout_in_eval_is_no_dropout(kind, kw):
    rng = np.random.default_rng(5)
    g, t = _pair(kind, 3, 4, num_layers=3, dropout=0.5, **kw)
    g.eval()
    t.eval()
    _compare(g, t, [rng.standard_normal((4, 2, 3))], rng)


def test_dropout_one_in_training_matches_torch():
    # p = 1 zeroes every input of layers 1 and 2 in both frameworks: deterministic
    rng = np.random.default_rng(6)
    g, t = _pair("LSTM", 3, 4, num_layers=3, dropout=1.0)
    _compare(g, t, [rng.standard_normal((4, 2, 3))], rng)


def test_dropout_in_training_is_random_and_seeded():
    lstm = nn.LSTM(3, 8, num_layers=2, dropout=0.5)
    x = gk.randn(4, 2, 3)
    gk.manual_seed(1)
    a = lstm(x)[0]
    gk.manual_seed(1)
    b = lstm(x)[0]
    c = lstm(x)[0]
    lstm.eval()
    e = lstm(x)[0]
    np.testing.assert_array_equal(a.array, b.array)
    assert not np.allclose(a.array, c.array) and not np.allclose(a.array, e.array)


def test_dropout_argument_checks():
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        nn.GRU(3, 4, dropout=0.2)
    with pytest.raises(ValueError, match="dropout should be a number in range"):
        nn.LSTM(3, 4, num_layers=2, dropout=1.5)


def test_float32_matches_torch():
    rng = np.random.default_rng(7)
    t = torch.nn.LSTM(5, 8, num_layers=2, bidirectional=True, batch_first=True)
    g = nn.LSTM(5, 8, num_layers=2, bidirectional=True, batch_first=True)
    _copy_from_torch(g, t)
    x = rng.standard_normal((3, 7, 5)).astype(np.float32)
    gx, tx = gk.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    go, (gh, gc) = g(gx)
    to, (_, tc) = t(tx)
    assert go.dtype == gk.float32 and gh.dtype == gk.float32
    np.testing.assert_allclose(go.array, to.detach().numpy(), rtol=1e-4, atol=1e-6)
    (go.sum() + gc.sum()).backward()
    (to.sum() + tc.sum()).backward()
    np.testing.assert_allclose(gx.grad.array, tx.grad.numpy(), rtol=1e-4, atol=1e-5)
    assert gx.grad.dtype == gk.float32
    np.testing.assert_allclose(g.weight_hh_l1_reverse.grad.array, t.weight_hh_l1_reverse.grad.numpy(),
                               rtol=1e-4, atol=1e-5)


# === cells =================================================================
CELLS = [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}), ("LSTMCell", {}),
         ("GRUCell", {})]


@pytest.mark.parametrize("kind,kw", CELLS, ids=["rnn_tanh", "rnn_relu", "lstm", "gru"])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_cell_matches_torch(kind, kw, batched, with_state, bias):
    rng = np.random.default_rng(8)
    g, t = _pair(kind, 3, 4, bias=bias, **kw)
    lead = (5,) if batched else ()
    hx = None
    if with_state:
        hx = rng.standard_normal(lead + (4,))
        if kind == "LSTMCell":
            hx = (hx, rng.standard_normal(lead + (4,)))
    out = _compare(g, t, [rng.standard_normal(lead + (3,)), hx], rng)
    assert out[0].shape == lead + (4,)


def test_cell_unrolled_equals_layer():
    # an LSTMCell stepped by hand with the layer's weights gives the layer's output
    lstm = nn.LSTM(3, 4).double()
    cell = nn.LSTMCell(3, 4).double()
    cell.load_state_dict({k[:-3]: v for k, v in lstm.state_dict().items()})
    x = gk.randn(5, 2, 3, dtype=gk.float64)
    out, (_, c) = lstm(x)
    hc = None
    for t in range(5):
        hc = cell(x[t], hc)
        np.testing.assert_allclose(hc[0].array, out[t].array, rtol=1e-12)
    np.testing.assert_allclose(hc[1].array, c[0].array, rtol=1e-12)


# === gradcheck and second derivatives ======================================
@pytest.mark.parametrize("kind,kw", KINDS, ids=KIND_IDS)
def test_gradcheck(kind, kw):
    rng = np.random.default_rng(9)
    m = getattr(nn, kind)(2, 2, num_layers=2, bidirectional=True, **kw).double()
    x = gk.tensor(rng.standard_normal((3, 2, 2)), requires_grad=True)
    h0 = gk.tensor(rng.standard_normal((4, 2, 2)), requires_grad=True)
    w = m.weight_hh_l0_reverse
    if kind == "LSTM":
        c0 = gk.tensor(rng.standard_normal((4, 2, 2)), requires_grad=True)
        fn = lambda x, h0, c0, w: _flat(m(x, (h0, c0)))
        inputs = (x, h0, c0, w)
    else:
        fn = lambda x, h0, w: _flat(m(x, h0))
        inputs = (x, h0, w)
    assert gk.autograd.gradcheck(lambda *a: tuple(fn(*a)), inputs)


@pytest.mark.parametrize("kind,kw", KINDS, ids=KIND_IDS)
def test_second_derivatives_match_torch(kind, kw):
    # d/dW_hh of |dL/dx|²: differentiates the steps' own backward (create_graph=True)
    rng = np.random.default_rng(10)
    g, t = _pair(kind, 3, 4, bidirectional=True, **kw)
    x = rng.standard_normal((4, 2, 3))
    gx, tx = gk.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (dgx,) = gk.grad(g(gx)[0].tanh().sum(), gx, create_graph=True)
    (dtx,) = torch.autograd.grad(t(tx)[0].tanh().sum(), tx, create_graph=True)
    np.testing.assert_allclose(dgx.array, dtx.detach().numpy(), rtol=RTOL, atol=ATOL)
    names = ["weight_hh_l0", "weight_ih_l0_reverse", "bias_hh_l0"]
    gw = gk.grad((dgx * dgx).sum(), [getattr(g, n) for n in names])
    tw = torch.autograd.grad((dtx * dtx).sum(), [getattr(t, n) for n in names])
    for n, a, b in zip(names, gw, tw):
        np.testing.assert_allclose(a.array, b.numpy(), rtol=1e-6, atol=1e-9, err_msg=n)


def test_backward_with_anomaly_detection_and_twice_with_retain_graph():
    rng = np.random.default_rng(11)
    g = nn.LSTM(3, 4).double()
    x = gk.tensor(rng.standard_normal((5, 2, 3)), requires_grad=True)
    with gk.autograd.detect_anomaly():
        loss = g(x)[0].sum()
        loss.backward(retain_graph=True)
    first = x.grad.array.copy()
    loss.backward()
    np.testing.assert_allclose(x.grad.array, 2 * first, rtol=1e-12)


def test_grad_with_respect_to_initial_state_only():
    rng = np.random.default_rng(12)
    g, t = _pair("GRU", 3, 4, num_layers=2)
    h0 = rng.standard_normal((2, 2, 4))
    x = rng.standard_normal((5, 2, 3))
    gh = gk.tensor(h0, requires_grad=True)
    th = torch.tensor(h0, requires_grad=True)
    (a,) = gk.grad(g(gk.tensor(x), gh)[1].sum(), gh)
    (b,) = torch.autograd.grad(t(torch.tensor(x), th)[1].sum(), th)
    np.testing.assert_allclose(a.array, b.numpy(), rtol=RTOL, atol=ATOL)


def test_no_graph_under_no_grad():
    lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    with gk.no_grad():
        out, (h, c) = lstm(gk.randn(5, 2, 3))
    assert not out.requires_grad and not h.requires_grad and not c.requires_grad


# === parameters, state_dict, init ==========================================
@pytest.mark.parametrize("kind,kw", KINDS + [("RNNCell", {}), ("LSTMCell", {}), ("GRUCell", {})])
def test_state_dict_keys_and_shapes_equal_torch(kind, kw):
    args = (3, 5) if "Cell" in kind else (3, 5, 2)
    extra = {} if "Cell" in kind else {"bidirectional": True}
    t = getattr(torch.nn, kind)(*args, **kw, **extra)
    g = getattr(nn, kind)(*args, **kw, **extra)
    assert list(g.state_dict()) == list(t.state_dict())
    for (gn, gp), (tn, tp) in zip(g.named_parameters(), t.named_parameters()):
        assert gn == tn and gp.shape == tuple(tp.shape)
    assert repr(g) == repr(t)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU", "LSTMCell"])
def test_default_init_matches_torch(kind):
    # every weight and bias ~ U(-1/√H, 1/√H): mean 0, std 1/√(3H)
    H = 64
    t = getattr(torch.nn, kind)(32, H)
    g = getattr(nn, kind)(32, H)
    gv = np.concatenate([p.array.ravel() for p in g.parameters()]).astype(np.float64)
    tv = np.concatenate([p.detach().numpy().ravel() for p in t.parameters()]).astype(np.float64)
    bound = 1 / np.sqrt(H)
    assert gv.size == tv.size
    assert np.abs(gv).max() <= bound and gv.dtype.kind == "f"
    se = bound / np.sqrt(3 * gv.size)  # standard error of the mean
    assert abs(gv.mean()) < 5 * se and abs(tv.mean()) < 5 * se
    np.testing.assert_allclose(gv.std(), tv.std(), rtol=0.03)
    np.testing.assert_allclose(gv.std(), bound / np.sqrt(3), rtol=0.03)


def test_parameters_all_weights_and_flatten_parameters():
    lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    lstm.flatten_parameters()
    assert len(lstm.all_weights) == 4 and all(len(w) == 4 for w in lstm.all_weights)
    assert lstm.all_weights[1][0] is lstm.weight_ih_l0_reverse
    assert lstm.weight_ih_l1.shape == (16, 8)


def test_proj_size_is_refused_clearly():
    with pytest.raises(NotImplementedError, match="proj_size"):
        nn.LSTM(3, 4, proj_size=2)


# === errors ================================================================
def test_wrong_input_size_names_layer_and_sizes():
    lstm = nn.LSTM(10, 20)
    with pytest.raises(ValueError, match=r"LSTM\(10, 20\): input has 7 features \(shape \(5, 3, 7\)\)"
                                         r".*input_size=10"):
        lstm(gk.randn(5, 3, 7))


def test_wrong_input_size_inside_a_model_names_the_attribute():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.GRU(8, 16, batch_first=True)

        def forward(self, x):
            return self.encoder(x)[0]

    with pytest.raises(ValueError, match=r"in layer 'encoder' \(GRU\).*6 features.*input_size=8"):
        Net()(gk.randn(2, 5, 6))


def test_wrong_rank_and_state_shape_errors():
    rnn = nn.RNN(4, 3, num_layers=2)
    with pytest.raises(ValueError, match=r"expected a 3-D input.*got 4-D"):
        rnn(gk.randn(2, 2, 2, 4))
    with pytest.raises(ValueError, match=r"expected h_0 of shape \(2, 5, 3\).*got \(1, 5, 3\)"):
        rnn(gk.randn(6, 5, 4), gk.zeros(1, 5, 3))
    with pytest.raises(ValueError, match=r"expected h_0 of shape \(2, 3\)"):
        rnn(gk.randn(6, 4), gk.zeros(2, 1, 3))
    lstm = nn.LSTM(4, 3)
    with pytest.raises(TypeError, match=r"tuple \(h_0, c_0\)"):
        lstm(gk.randn(6, 5, 4), gk.zeros(1, 5, 3))
    with pytest.raises(ValueError, match=r"expected c_0 of shape \(1, 5, 3\)"):
        lstm(gk.randn(6, 5, 4), (gk.zeros(1, 5, 3), gk.zeros(1, 5, 4)))
    with pytest.raises(TypeError, match=r"input dtype float64 does not match"):
        lstm(gk.randn(6, 5, 4, dtype=gk.float64))
    with pytest.raises(TypeError, match=r"c_0 has dtype float64 but the input has float32"):
        lstm(gk.randn(6, 5, 4), (gk.zeros(1, 5, 3), gk.zeros(1, 5, 3, dtype=gk.float64)))
    with pytest.raises(ValueError, match=r"LSTMCell\(4, 3\): input has 5 features"):
        nn.LSTMCell(4, 3)(gk.randn(2, 5))
    with pytest.raises(ValueError, match=r"unknown nonlinearity 'gelu'"):
        nn.RNN(4, 3, nonlinearity="gelu")
