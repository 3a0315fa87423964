package coord

// Keys is the key layout of one cluster under its root path. Changing a key
// here changes the on-etcd format, which the next version must still read:
// add keys, never rename them.
//
//	<root>/leader/<lease>         nameserver election (value: endpoint)
//	<root>/nameservers/<ep>       nameserver info, leased (JSON NodeInfo)
//	<root>/nodes/<ep>             tablet registration, leased (JSON NodeInfo)
//	<root>/tablets/<ep>           tablet record kept by the leader (JSON TabletRecord)
//	<root>/apiservers/<ep>        apiserver info, leased (JSON NodeInfo)
//	<root>/global_variables/<n>   SET GLOBAL values
//	<root>/deployments/<db>/<n>   deployments (JSON DeploymentRecord)
type Keys struct{ Root string }

func (k Keys) join(parts ...string) string {
	s := k.Root
	if s == "/" {
		s = ""
	}
	for _, p := range parts {
		s += "/" + p
	}
	return s
}

// LeaderPrefix is the election prefix of the nameservers.
func (k Keys) LeaderPrefix() string { return k.join("leader") }

// NameserverPrefix holds one leased key per running nameserver.
func (k Keys) NameserverPrefix() string { return k.join("nameservers") + "/" }

// Nameserver is the leased info key of one nameserver.
func (k Keys) Nameserver(ep string) string { return k.NameserverPrefix() + ep }

// TabletAlivePrefix holds one leased key per running tablet.
func (k Keys) TabletAlivePrefix() string { return k.join("nodes") + "/" }

// TabletAlive is the leased registration key of one tablet.
func (k Keys) TabletAlive(ep string) string { return k.TabletAlivePrefix() + ep }

// TabletRecordPrefix holds the leader's persistent record of every tablet ever seen.
func (k Keys) TabletRecordPrefix() string { return k.join("tablets") + "/" }

// TabletRecord is the persistent record of one tablet.
func (k Keys) TabletRecord(ep string) string { return k.TabletRecordPrefix() + ep }

// APIServerPrefix holds one leased key per running apiserver (JSON NodeInfo).
func (k Keys) APIServerPrefix() string { return k.join("apiservers") + "/" }

// APIServer is the leased info key of one apiserver.
func (k Keys) APIServer(ep string) string { return k.APIServerPrefix() + ep }

// GlobalVariable holds the value of a SET GLOBAL variable.
func (k Keys) GlobalVariable(name string) string { return k.join("global_variables", name) }

// GlobalVariablePrefix holds every SET GLOBAL variable.
func (k Keys) GlobalVariablePrefix() string { return k.join("global_variables") + "/" }

// DeploymentPrefix holds every deployment (JSON DeploymentRecord).
func (k Keys) DeploymentPrefix() string { return k.join("deployments") + "/" }

// Deployment is the key of one deployment.
func (k Keys) Deployment(db, name string) string { return k.join("deployments", db, name) }
