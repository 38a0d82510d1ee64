//! Policy as code with regorus and conftest's conventions (being built).
