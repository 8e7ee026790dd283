"""nlpbook.kernels: registration checks, the NLPBOOK_KERNELS switch, the cache key."""
import pytest

from nlpbook import kernels


def test_unknown_kernel_is_a_clear_error():
    with pytest.raises(ValueError, match="name 'nope' is not a registered kernel"):
        kernels.load("nope")


@pytest.mark.parametrize("functions", [(), ("missing_function",), (3,)])
def test_register_needs_functions_defined_in_the_source(functions):
    with pytest.raises(ValueError, match="functions must name functions defined in the source"):
        kernels.register("bad", "void f() {}", functions)
    assert "bad" not in kernels.REGISTRY


def test_switch_off_returns_none_without_building(monkeypatch):
    kernels.register("never_built", "void never_built_fn() {}", ("never_built_fn",))
    try:
        monkeypatch.setenv(kernels.ENV_VAR, "0")
        assert not kernels.enabled()
        assert kernels.load("never_built") is None
    finally:
        kernels.REGISTRY.pop("never_built")


def test_a_kernel_that_cannot_compile_falls_back_with_a_warning(monkeypatch, tmp_path):
    """A build that fails (here: as on a machine without a compiler) warns once and returns None."""
    import torch.utils.cpp_extension

    def no_compiler(**kwargs):
        raise RuntimeError("Error building extension: c++: command not found")

    monkeypatch.setattr(torch.utils.cpp_extension, "load_inline", no_compiler)
    monkeypatch.setenv("NLPBOOK_DATA", str(tmp_path))
    monkeypatch.setenv(kernels.ENV_VAR, "1")
    kernels.register("broken", "void broken_fn() { }", ("broken_fn",))
    try:
        with pytest.warns(RuntimeWarning, match="could not compile its C\\+\\+ kernel 'broken'"):
            assert kernels.load("broken") is None
        assert kernels.load("broken") is None      # tried once per process, not at every call
    finally:
        kernels.REGISTRY.pop("broken")
        kernels._failed.discard("broken")


def test_cache_key_covers_source_and_flags(monkeypatch, tmp_path):
    monkeypatch.setenv("NLPBOOK_DATA", str(tmp_path))
    a = kernels._build_directory("k", "void f() {}")
    b = kernels._build_directory("k", "void f() { }")
    assert a != b and a[1].startswith(str(tmp_path))


def test_disabled_turns_the_kernels_off_and_restores(monkeypatch):
    monkeypatch.delenv(kernels.ENV_VAR, raising=False)
    with kernels.disabled():
        assert not kernels.enabled()
    assert kernels.enabled()
    monkeypatch.setenv(kernels.ENV_VAR, "1")
    with pytest.raises(RuntimeError):
        with kernels.disabled():
            raise RuntimeError("inside")
    assert kernels.enabled()


def test_compiled_loops_only_for_cpu_float_tensors():
    """The C++ loops read raw CPU memory: anything else (a GPU tensor, half precision) takes the
    PyTorch path, on any machine."""
    import torch

    from nlpbook.rnn import gru_fused, lstm, lstm_compiled

    assert kernels.compiled_can_run(torch.zeros(2)) and kernels.compiled_can_run(torch.zeros(2, dtype=torch.float64))
    half = torch.zeros(2, dtype=torch.float16)
    assert not kernels.compiled_can_run(half) and not kernels.compiled_can_run(torch.zeros(2, device="meta"))
    assert lstm_compiled.step_loops(like=half) == (lstm._forward_steps, lstm._backward_steps)
    assert gru_fused.step_loops(like=half) == (gru_fused._forward_steps, gru_fused._backward_steps)
