"""Our differentially private GAN engine (torch + Opacus): domain, encoding, model, training."""
