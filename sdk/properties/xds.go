package properties

// GetXdsClusterName returns the property xds.cluster_name.
func GetXdsClusterName() (string, error) { return getString([]string{"xds", "cluster_name"}) }

// GetXdsClusterMetadata returns the property xds.cluster_metadata.filter_metadata.istio.
func GetXdsClusterMetadata() (IstioFilterMetadata, error) {
	return getIstioFilterMetadata([]string{"xds", "cluster_metadata", "filter_metadata", "istio"})
}

// GetXdsRouteName returns the property xds.route_name.
func GetXdsRouteName() (string, error) { return getString([]string{"xds", "route_name"}) }

// GetXdsRouteMetadata returns the property xds.route_metadata.filter_metadata.istio.
func GetXdsRouteMetadata() (IstioFilterMetadata, error) {
	return getIstioFilterMetadata([]string{"xds", "route_metadata", "filter_metadata", "istio"})
}

// GetXdsUpstreamHostMetadata returns the property xds.upstream_host_metadata.filter_metadata.istio.
func GetXdsUpstreamHostMetadata() (IstioFilterMetadata, error) {
	return getIstioFilterMetadata([]string{"xds", "upstream_host_metadata", "filter_metadata", "istio"})
}

// GetXdsListenerFilterChainName returns the property xds.filter_chain_name.
func GetXdsListenerFilterChainName() (string, error) {
	return getString([]string{"xds", "filter_chain_name"})
}
