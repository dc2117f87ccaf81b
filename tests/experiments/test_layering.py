"""The experiments package belongs to the numeric core: it imports without SymPy or matplotlib."""

import subprocess
import sys


def test_imports_without_sympy_and_matplotlib():
    """Importing stability.experiments and running a figure works with sympy/matplotlib blocked."""
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('sympy', 'matplotlib'):\n"
        "            raise ImportError('blocked ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import stability.experiments as e\n"
        "print(e.segmentation_figure(chars=20, tau=5, rng=0).rows[2].pieces[0])\n"
        "assert 'sympy' not in sys.modules and 'matplotlib' not in sys.modules\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "The Time Machine, by"
