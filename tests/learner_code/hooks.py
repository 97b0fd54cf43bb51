"""capture_attention functions learners write for exercise 07."""

from __future__ import annotations

from contextlib import ExitStack
from functools import partial

import torch

import scattn

from . import right, wrong

CHECK = "capture_attention"


@right
def like_the_solution(model, x):
    maps, handles = {}, []

    def recorder(name):
        def hook(module, inputs, output):
            maps[name] = output.detach()
        return hook

    for name, module in model.named_modules():
        if isinstance(module, scattn.Gate):
            handles.append(module.register_forward_hook(recorder(name)))
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return maps


@right
def partial_and_inference_mode(model, x):
    maps = {}

    def store(name, module, inputs, output):
        maps[name] = output

    gates = {n: m for n, m in model.named_modules() if isinstance(m, scattn.Gate)}
    handles = {n: m.register_forward_hook(partial(store, n)) for n, m in gates.items()}
    try:
        with torch.inference_mode():
            model(x)
    finally:
        for h in handles.values():
            h.remove()
    return maps


@right
def exit_stack_of_handles(model, x):
    """A RemovableHandle is a context manager: the stack removes every hook on the way out."""
    out = {}
    with ExitStack() as stack:
        for name, module in model.named_modules():
            if type(module).__name__ == "Gate":
                stack.enter_context(module.register_forward_hook(
                    lambda mod, inp, output, name=name: out.__setitem__(name, output.detach().cpu().clone())))
        with torch.no_grad():
            model(x)
    return out


@right
def double_precision_copies(model, x):
    maps, handles = {}, []
    for name, module in model.named_modules():
        if isinstance(module, scattn.Gate):
            def hook(m, i, o, key=name):
                maps[key] = o.detach().double()
            handles.append(module.register_forward_hook(hook))
    try:
        model(x)
    finally:
        while handles:
            handles.pop().remove()
    return maps


# ---- wrong ------------------------------------------------------------------------------------

def _capture(model, x, store, *, names=None, remove=True, no_grad=True, finally_=True):
    """The skeleton most learners write; each mistake below changes one piece of it."""
    maps, handles = {}, []
    for name, module in model.named_modules():
        if isinstance(module, scattn.Gate):
            key = names(name, module) if names else name
            handles.append(module.register_forward_hook(
                lambda m, inputs, output, key=key: maps.__setitem__(key, store(inputs, output))))
    context = torch.no_grad() if no_grad else ExitStack()
    if finally_:
        try:
            with context:
                model(x)
        finally:
            if remove:
                for h in handles:
                    h.remove()
    else:
        with context:
            model(x)
        for h in handles:
            h.remove()
    return maps


@wrong("is a tuple", "`inputs` argument", "output.detach()")
def stores_the_inputs_tuple(model, x):
    return _capture(model, x, lambda inputs, output: inputs)


@wrong("NumPy array")
def stores_numpy(model, x):
    return _capture(model, x, lambda inputs, output: output.detach().numpy())


@wrong("is a list", "one tensor per gate")
def keeps_a_list_per_gate(model, x):
    maps, handles = {}, []

    def hook(name):
        def record(module, inputs, output):
            maps.setdefault(name, []).append(output.detach())
        return record

    for name, module in model.named_modules():
        if isinstance(module, scattn.Gate):
            handles.append(module.register_forward_hook(hook(name)))
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return maps


@wrong("the method detach itself", "detach()")
def stores_detach_without_calling_it(model, x):
    return _capture(model, x, lambda inputs, output: output.detach)


@wrong("returned None")
def forgets_to_return(model, x):
    _capture(model, x, lambda inputs, output: output.detach())


@wrong("layer names differ", "named_modules()")
def keys_by_class_name(model, x):
    counter = iter(range(100))
    return _capture(model, x, lambda inputs, output: output.detach(),
                    names=lambda name, module: f"{type(module).__name__}{next(counter)}")


@wrong("layer names differ")
def lambda_in_a_loop(model, x):
    """Every lambda sees the loop's last name: all maps land under one key."""
    maps, handles = {}, []
    for name, module in model.named_modules():
        if isinstance(module, scattn.Gate):
            handles.append(module.register_forward_hook(lambda m, i, o: maps.update({name: o.detach()})))  # noqa: B023
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return maps


@wrong("store the hook's OUTPUT")
def stores_the_input_tensor(model, x):
    return _capture(model, x, lambda inputs, output: inputs[0].detach())


@wrong("has shape", "as it is")
def squeezes_the_maps(model, x):
    return _capture(model, x, lambda inputs, output: output.detach().squeeze())


@wrong("autograd graph")
def keeps_the_graph(model, x):
    return _capture(model, x, lambda inputs, output: output, no_grad=False)


@wrong("still registered after your function returned")
def never_removes(model, x):
    return _capture(model, x, lambda inputs, output: output.detach(), remove=False)


@wrong("when the forward pass fails", "finally")
def removes_without_finally(model, x):
    return _capture(model, x, lambda inputs, output: output.detach(), finally_=False)


@wrong("missing")
def spatial_gates_only(model, x):
    maps = _capture(model, x, lambda inputs, output: output.detach())
    return {name: m for name, m in maps.items() if m.shape[-1] > 1}
