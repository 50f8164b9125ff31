"""Python source as the rules see it: decoding, notebooks, prefilter, slicing, scopes, name resolution, strings,
call matching, positions."""
