package testenv

import (
	"encoding/json"
	"strings"
)

// ListenAddr is the address a platform logged it listens on for server
// ("api" or "metrics") in log, its JSON log lines; "" until it has. A test
// that configures port 0 reads the port the system picked here, instead of
// picking a free one itself and racing other processes for it.
func ListenAddr(log, server string) string {
	for line := range strings.Lines(log) {
		var l struct{ Msg, Server, Addr string }
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "listening" && l.Server == server {
			return l.Addr
		}
	}
	return ""
}
