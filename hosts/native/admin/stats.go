package admin

import (
	"os"
	"time"

	"github.com/socketcore/socketcore/hosts/native"
)

// serverStats is instrument()'s ServerStats, with its aggregatedEvents.
type serverStats struct {
	ServerID            string         `json:"serverId"`
	Hostname            string         `json:"hostname"`
	PID                 int            `json:"pid"`
	Uptime              float64        `json:"uptime"` // seconds, since the Admin was made
	ClientsCount        uint64         `json:"clientsCount"`
	PollingClientsCount uint64         `json:"pollingClientsCount"`
	AggregatedEvents    []aggregated   `json:"aggregatedEvents"`
	Namespaces          []namespaceCnt `json:"namespaces"`
}

type namespaceCnt struct {
	Name         string `json:"name"`
	SocketsCount int    `json:"socketsCount"`
}

// traffic is what the last server_stats counted of the server's traffic.
type traffic struct {
	packetsIn, packetsOut, bytesIn, bytesOut uint64
}

// emitStats sends server_stats to every UI (on the Admin's goroutine). The
// connections and disconnections are counted per second as they are
// observed; the packets and bytes are the server's counters
// (native.Metrics: WebSocket messages, and the bytes of both transports)
// since the last server_stats, stamped with this second.
func (a *Admin) emitStats() {
	m := a.srv.Metrics()
	a.mu.Lock()
	agg := a.raw.take()
	a.mu.Unlock()
	now := time.Now().Truncate(time.Second).UnixMilli()
	cur := traffic{m.MessagesIn, m.MessagesOut, m.BytesIn.Polling + m.BytesIn.WebSocket, m.BytesOut.Polling + m.BytesOut.WebSocket}
	if a.statsSent {
		for _, d := range []struct {
			typ      string
			now, was uint64
		}{
			{"packetsIn", cur.packetsIn, a.last.packetsIn},
			{"packetsOut", cur.packetsOut, a.last.packetsOut},
			{"bytesIn", cur.bytesIn, a.last.bytesIn},
			{"bytesOut", cur.bytesOut, a.last.bytesOut},
		} {
			if d.now > d.was {
				agg = append(agg, aggregated{Timestamp: now, Type: d.typ, Count: d.now - d.was})
			}
		}
	}
	a.last, a.statsSent = cur, true
	if agg == nil {
		agg = []aggregated{}
	}
	st := serverStats{
		ServerID:            a.opts.ServerID,
		Hostname:            a.hostname,
		PID:                 os.Getpid(),
		Uptime:              time.Since(a.start).Seconds(),
		ClientsCount:        m.Sessions.Polling + m.Sessions.WebSocket,
		PollingClientsCount: m.Sessions.Polling,
		AggregatedEvents:    agg,
		Namespaces:          namespaceCounts(m.Namespaces),
	}
	a.broadcast("server_stats", st)
}

func namespaceCounts(ns []native.NamespaceMetrics) []namespaceCnt {
	out := make([]namespaceCnt, len(ns))
	for i, n := range ns {
		out[i] = namespaceCnt{Name: n.Name, SocketsCount: n.Sockets}
	}
	return out
}
