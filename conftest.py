"""pytest setup shared by the tests and the notebooks that nbval runs (`make test`)."""

try:
    import nbval.kernel
except ImportError:  # the Python tests alone do not need nbval
    nbval = None


if nbval is not None:
    # nbval runs each cell with store_history=False. IPython decides whether a trailing ";"
    # silences a cell's value by reading the last *stored* input, so under nbval a cell ending in
    # `claim(...);` would show its value, unlike in Jupyter and Colab, which store every cell.
    # Run cells as a notebook server does.
    def execute_cell_input(self, cell_input, allow_stdin=None):
        return self.kc.execute(cell_input, store_history=True, allow_stdin=allow_stdin, stop_on_error=False)

    nbval.kernel.RunningKernel.execute_cell_input = execute_cell_input
