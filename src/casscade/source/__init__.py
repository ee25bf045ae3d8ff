"""I/O side of capture: finding segments in `cdc_raw`, reading their bytes and indexes.

Thin on purpose: it reads files and hands bytes to the pure decoder in casscade.commitlog.
"""
