"""Running submissions: the sandboxed side (zygote, supervisor, child) and the pool that drives it."""
