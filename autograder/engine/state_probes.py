"""The state probes: a layer used the way a network uses it, inside the sandbox.

forward(a), forward(b), backward; (forward, backward) twice; two instances interleaved; one
instance through several batch sizes. Like the other probes they only collect raw numbers.
`probe` is the LayerProbe that owns the values and the student's class.
"""
from __future__ import annotations


def run_state(probe) -> None:
    """Instances used the way a network uses them: the answers must depend on the latest input only."""
    case = f"c{probe.layer['state_case']}"
    params_c, inputs_c = probe.case_values(case)
    dout_c = probe.dout_of(case)
    params, inputs = probe.case_values("state")
    dout = probe.dout_of("state")

    def fresh():
        layer = probe.new(params)
        probe.forward(layer, inputs)
        return probe.backward(layer, dout)

    def latest():
        layer = probe.new(params)
        probe.forward(layer, inputs_c)
        probe.forward(layer, inputs)
        return probe.backward(layer, dout)

    def repeat():
        layer = probe.new(params)
        probe.forward(layer, inputs)
        probe.backward(layer, dout)
        probe.forward(layer, inputs)
        return probe.backward(layer, dout)

    def instances():
        # A.forward, B.forward, B.backward, A.backward: state kept on the class, in a mutable
        # default argument or in a module global is shared between A and B and shows here.
        a, b = probe.new(params_c), probe.new(params)
        probe.forward(a, inputs_c)
        probe.forward(b, inputs)
        got_b = probe.backward(b, dout)
        got_a = probe.backward(a, dout_c)
        return {**{f"a/{k}": v for k, v in got_a.items()}, **{f"b/{k}": v for k, v in got_b.items()}}

    for key, action in (("state/fresh", fresh), ("state/latest", latest), ("state/repeat", repeat),
                        ("state/instances", instances)):
        grads = probe.attempt(key, action)
        for name, value in (grads or {}).items():
            probe.out[f"{key}/{name}"] = value
    run_batches(probe)

def run_batches(probe) -> None:
    """One instance, forward and backward at several batch sizes in turn (N = 1 among them)."""
    steps = probe.layer.get("batch_steps", 0)
    if not steps:
        return
    holder = {}
    params, _ = probe.case_values("batch0")
    if probe.attempt("batch0/out", lambda: holder.setdefault("layer", probe.new(params))) is None:
        return
    layer = holder["layer"]
    for step in range(steps):
        prefix = f"batch{step}"
        _, inputs = probe.case_values(prefix)
        dout = probe.dout_of(prefix)
        out = probe.attempt(f"{prefix}/out", lambda: probe.forward(layer, inputs))
        if out is None:
            continue
        probe.out[f"{prefix}/out"] = out
        grads = probe.attempt(f"{prefix}/grads", lambda: probe.backward(layer, dout))
        for name, value in (grads or {}).items():
            probe.out[f"{prefix}/grad/{name}"] = value

