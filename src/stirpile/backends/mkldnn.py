"""``torch.backends.mkldnn``'s flag, accepted and without effect."""

enabled = True


def is_available() -> bool:
    return False
