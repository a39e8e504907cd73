"""Reference motion from tagged images: HARP and a SinMod-style tracker (see ``api``)."""
