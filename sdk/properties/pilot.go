package properties

// GetNodeMetaAnnotations returns the property node.metadata.ANNOTATIONS.
func GetNodeMetaAnnotations() (map[string]string, error) {
	return getStringMap([]string{"node", "metadata", "ANNOTATIONS"})
}

// GetNodeMetaAppContainers returns the property node.metadata.APP_CONTAINERS.
func GetNodeMetaAppContainers() (string, error) {
	return getString([]string{"node", "metadata", "APP_CONTAINERS"})
}

// GetNodeMetaClusterId returns the property node.metadata.CLUSTER_ID.
func GetNodeMetaClusterId() (string, error) {
	return getString([]string{"node", "metadata", "CLUSTER_ID"})
}

// GetNodeMetaEnvoyPrometheusPort returns the property node.metadata.ENVOY_PROMETHEUS_PORT.
func GetNodeMetaEnvoyPrometheusPort() (float64, error) {
	return getFloat64([]string{"node", "metadata", "ENVOY_PROMETHEUS_PORT"})
}

// GetNodeMetaEnvoyStatusPort returns the property node.metadata.ENVOY_STATUS_PORT.
func GetNodeMetaEnvoyStatusPort() (float64, error) {
	return getFloat64([]string{"node", "metadata", "ENVOY_STATUS_PORT"})
}

// GetNodeMetaInstanceIps returns the property node.metadata.INSTANCE_IPS.
func GetNodeMetaInstanceIps() (string, error) {
	return getString([]string{"node", "metadata", "INSTANCE_IPS"})
}

// GetNodeMetaInterceptionMode returns the property node.metadata.INTERCEPTION_MODE.
func GetNodeMetaInterceptionMode() (IstioTrafficInterceptionMode, error) {
	return getInterceptionMode([]string{"node", "metadata", "INTERCEPTION_MODE"})
}

// GetNodeMetaIstioProxySha returns the property node.metadata.ISTIO_PROXY_SHA.
func GetNodeMetaIstioProxySha() (string, error) {
	return getString([]string{"node", "metadata", "ISTIO_PROXY_SHA"})
}

// GetNodeMetaIstioVersion returns the property node.metadata.ISTIO_VERSION.
func GetNodeMetaIstioVersion() (string, error) {
	return getString([]string{"node", "metadata", "ISTIO_VERSION"})
}

// GetNodeMetaLabels returns the property node.metadata.LABELS.
func GetNodeMetaLabels() (map[string]string, error) {
	return getStringMap([]string{"node", "metadata", "LABELS"})
}

// GetNodeMetaMeshId returns the property node.metadata.MESH_ID.
func GetNodeMetaMeshId() (string, error) { return getString([]string{"node", "metadata", "MESH_ID"}) }

// GetNodeMetaName returns the property node.metadata.NAME.
func GetNodeMetaName() (string, error) { return getString([]string{"node", "metadata", "NAME"}) }

// GetNodeMetaNamespace returns the property node.metadata.NAMESPACE.
func GetNodeMetaNamespace() (string, error) {
	return getString([]string{"node", "metadata", "NAMESPACE"})
}

// GetNodeMetaNodeName returns the property node.metadata.NODE_NAME.
func GetNodeMetaNodeName() (string, error) {
	return getString([]string{"node", "metadata", "NODE_NAME"})
}

// GetNodeMetaOwner returns the property node.metadata.OWNER.
func GetNodeMetaOwner() (string, error) { return getString([]string{"node", "metadata", "OWNER"}) }

// GetNodeMetaPilotSan returns the property node.metadata.PILOT_SAN.
func GetNodeMetaPilotSan() ([]string, error) {
	return getStringSlice([]string{"node", "metadata", "PILOT_SAN"})
}

// GetNodeMetaPodPorts returns the property node.metadata.POD_PORTS.
func GetNodeMetaPodPorts() (string, error) {
	return getString([]string{"node", "metadata", "POD_PORTS"})
}

// GetNodeMetaServiceAccount returns the property node.metadata.SERVICE_ACCOUNT.
func GetNodeMetaServiceAccount() (string, error) {
	return getString([]string{"node", "metadata", "SERVICE_ACCOUNT"})
}

// GetNodeMetaWorkloadName returns the property node.metadata.WORKLOAD_NAME.
func GetNodeMetaWorkloadName() (string, error) {
	return getString([]string{"node", "metadata", "WORKLOAD_NAME"})
}
