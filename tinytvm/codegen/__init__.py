"""Code generation: integer-only Relax + arena plan -> ahead-of-time C calling src_cpp kernels."""
