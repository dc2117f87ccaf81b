"""The user-model layers import without torch; only the adapters need it, and say so."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_core_and_adapters_import_without_torch():
    code = textwrap.dedent(
        """
        import sys
        sys.modules["torch"] = None  # any import of torch now fails
        import numpy as np
        import stability.cells, stability.userdata, stability.modelstudy, stability.torch
        import stability.report.sections.usermodel, stability.cli.usermodel
        from stability.cells import load_state_dict
        from stability.errors import InputTypeError
        import tempfile, os
        d = tempfile.mkdtemp()
        np.savez(os.path.join(d, "m.npz"), W=np.eye(3) * 0.5, U=np.ones((3, 2)), b=np.zeros(3),
                 V=np.ones((2, 3)), c=np.zeros(2))
        print(load_state_dict(os.path.join(d, "m.npz")).cell)        # .npz needs no torch
        open(os.path.join(d, "m.pt"), "wb").write(b"x")
        try:
            load_state_dict(os.path.join(d, "m.pt"))
        except InputTypeError as exc:
            print("refused:", exc)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[0].startswith("TanhRNN(hidden=3, inputs=2")
    assert lines[1].startswith("refused:") and "torch" in lines[1]
