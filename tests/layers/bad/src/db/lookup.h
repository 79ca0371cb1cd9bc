/* A header under src/ that is not private (*_int.h). */
