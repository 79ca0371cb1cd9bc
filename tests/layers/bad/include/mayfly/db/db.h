/* A public header of db/. */
