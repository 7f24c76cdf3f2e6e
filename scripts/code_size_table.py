"""Measure the kernel library's code sizes per Cortex-M target: check, or --regenerate, tinytvm/codegen/code_size.json.

    python scripts/code_size_table.py [--regenerate]

Run after changing src_cpp, the compiler flags or the toolchain (tests/test_code_size.py fails while the
table is stale). Needs arm-none-eabi-gcc; takes about 10 s.
"""

import sys

from tinytvm.codegen.code_size import main

if __name__ == "__main__":
    sys.exit(main())
