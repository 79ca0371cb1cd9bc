/* A public header of cmd/. */
