/* A private header of cmd/. */
