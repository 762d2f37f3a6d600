"""Named architectures, found by name (like timm's registry). Each module builds one
family and registers its builders with `@register("name")`."""

from axon.zoo.registry import arguments, create, describe, names, register, zoo_spec
from axon.zoo import digits as _digits  # noqa: F401  (registers digits-cnn, mlp, digits-mlp)
from axon.zoo import googlenet as _googlenet  # noqa: F401  (registers googlenet)
from axon.zoo import pointpillars as _pointpillars  # noqa: F401  (registers pointpillars)
from axon.zoo import shapes as _shapes  # noqa: F401  (registers shapes-cnn)

__all__ = ["arguments", "create", "describe", "names", "register", "zoo_spec"]
