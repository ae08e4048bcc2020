"""sphinx-gallery hooks of boltz's docs (importable, so the config pickles)."""


class QuickArgv:
    """sphinx-gallery's ``reset_argv``: run every example with ``--quick``.

    Each example reads ``"--quick" in sys.argv[1:]`` (or its argparse flag)
    and then uses fewer samples, epochs and temperatures, so that the whole
    gallery runs in a few minutes on two cores.
    """

    def __repr__(self):
        return "QuickArgv"

    def __call__(self, gallery_conf, script_vars):
        return ["--quick"]
