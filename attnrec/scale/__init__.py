"""Jobs bigger than one call: chunked, resumable runs that write one Parquet file, on one process or on Ray.

chunks      the job (rows cut into chunks, a pure chunk function, a fingerprint), the manifest that makes it
            resumable, the single-process engine and the one combine step every engine ends with
engine      `run_job`: pick the engine ("local" | "ray") and combine
ray_engine  the Ray Data engine (needs the optional extra: pip install -e .[scale]); ray is imported lazily,
            so nothing else in attnrec needs it
"""
