//! Entry points for fuzz targets and timing harnesses. Not part of the stable API.
