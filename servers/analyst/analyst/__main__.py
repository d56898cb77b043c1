from mcpkit_runtime import sdk  # noqa: F401, I001 - first: the SDK's server loads without its client (sdk.py says why)
from analyst.server import main

main()
