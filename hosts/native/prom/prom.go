// Package prom exports a native.Server's metrics (Server.Metrics) to
// Prometheus: a Collector that reads them at scrape time, and Handler, a
// /metrics endpoint with its own registry (no global one is touched).
//
// Every series is named socketcore_*, with its unit in the name (_total,
// _bytes_total, _seconds) and at most one label: transport ("polling",
// "websocket"), reason (an official disconnect or close reason, an
// Engine.IO error message, an adapter operation) or namespace. Namespaces
// can be made by clients (dynamic namespaces, Namespace.OfDynamic), so the
// per-namespace series are capped: the first MaxNamespaces namespaces in
// name order get their own series, the others are summed under
// namespace="other" (no namespace is named that way: names start with
// "/"). socketcore_namespaces always counts them all.
//
// The package imports client_golang; hosts/native itself does not.
package prom

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/socketcore/socketcore/hosts/native"
)

// MaxNamespaces is how many namespaces get series of their own; the
// others are summed under namespace="other".
const MaxNamespaces = 100

// Collector is a prometheus.Collector over a server's Metrics: nothing is
// counted twice, each scrape takes one snapshot.
type Collector struct {
	srv *native.Server
}

// NewCollector returns the collector of srv's metrics; register it with
// your own registry, or use Handler.
func NewCollector(srv *native.Server) *Collector { return &Collector{srv: srv} }

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("socketcore_"+name, help, labels, nil)
}

// The series, in the order of the README's table.
var (
	dSessions       = desc("sessions", "Open Engine.IO sessions, by current transport.", "transport")
	dSessionsOpened = desc("sessions_opened_total", "Successful handshakes, by the transport the session began on.", "transport")
	dUpgrades       = desc("upgrades_total", "Sessions upgraded from polling to WebSocket.")
	dSessionsClosed = desc("sessions_closed_total", "Engine.IO sessions that ended, by close reason.", "reason")
	dConnErrors     = desc("connection_errors_total", "HTTP requests refused with an Engine.IO error (handshakes and requests naming an unknown session), by error message; \"other\" for other error answers.", "reason")
	dNamespaces     = desc("namespaces", "Namespaces (dynamic ones included).")
	dSockets        = desc("sockets", "Connected sockets, by namespace.", "namespace")
	dRooms          = desc("rooms", "Rooms with members, sockets' own rooms not counted, by namespace.", "namespace")
	dConnected      = desc("sockets_connected_total", "Sockets that joined a namespace.")
	dDisconnects    = desc("disconnects_total", "Sockets that left a namespace, by official disconnect reason.", "reason")
	dEventsIn       = desc("events_received_total", "Events received from clients.")
	dEventsOut      = desc("events_emitted_total", "Events emitted to one socket (Emit, EmitWithAck).")
	dBroadcasts     = desc("broadcasts_total", "Broadcasts emitted, each counted once.")
	dMsgsIn         = desc("websocket_messages_received_total", "WebSocket messages read.")
	dMsgsOut        = desc("websocket_messages_sent_total", "WebSocket messages handed to the connections' writes.")
	dBytesIn        = desc("received_bytes_total", "Engine.IO bytes received: WebSocket message payloads and polling request bodies.", "transport")
	dBytesOut       = desc("sent_bytes_total", "Engine.IO bytes sent: WebSocket message payloads and polling response bodies.", "transport")
	dAckLatency     = desc("ack_duration_seconds", "Round trip of EmitWithAck to one socket, from the call to the acknowledgement.")
	dAckTimeouts    = desc("ack_timeouts_total", "EmitWithAck (to a socket or broadcast) whose acknowledgements did not all come in time.")
	dVolatile       = desc("volatile_dropped_total", "Volatile packets dropped because their connection was not ready.")
	dPublished      = desc("adapter_published_total", "Messages the cluster adapter published.")
	dReceived       = desc("adapter_received_total", "Messages received from the other servers of the cluster.")
	dAdapterErrors  = desc("adapter_errors_total", "Cluster adapter operations that failed, by operation (publish, count, subscribe).", "reason")
	dAdapterDropped = desc("adapter_dropped_total", "Cluster messages dropped before the adapter took them (too many waiting, or left at close).")
	dAdapterPending = desc("adapter_pending", "Cluster messages and subscriptions waiting for the adapter.")
	dReqTimeouts    = desc("adapter_request_timeouts_total", "Cluster requests (fetchSockets, allRooms, serverSideEmit with ack) that timed out.")
	dRecovered      = desc("recovery_succeeded_total", "Sockets restored by connection state recovery.")
	dRecoveryFailed = desc("recovery_failed_total", "Connections that asked for recovery and got a fresh socket.")
	dLimited        = desc("events_limited_total", "Events over their socket's rate (Limits): dropped, answered with an error, or disconnecting.")
	dLimitRefusals  = desc("limit_refusals_total", "Requests refused by the limits, by limit (rooms per socket, namespaces per connection, connections per IP).", "reason")
	dEventsRefused  = desc("events_refused_total", "Events refused by the namespaces' event rules (EventRules), by reason (event not allowed, payload too large).", "reason")
)

var all = []*prometheus.Desc{dSessions, dSessionsOpened, dUpgrades, dSessionsClosed, dConnErrors, dNamespaces,
	dSockets, dRooms, dConnected, dDisconnects, dEventsIn, dEventsOut, dBroadcasts, dMsgsIn, dMsgsOut, dBytesIn,
	dBytesOut, dAckLatency, dAckTimeouts, dVolatile, dPublished, dReceived, dAdapterErrors, dAdapterDropped,
	dAdapterPending, dReqTimeouts, dRecovered, dRecoveryFailed, dLimited, dLimitRefusals, dEventsRefused}

// Describe sends the descriptors of every series.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range all {
		ch <- d
	}
}

// Collect takes one snapshot of the server's metrics and sends them.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	m := c.srv.Metrics()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	byTransport := func(d *prometheus.Desc, v native.ByTransport, kind prometheus.ValueType) {
		ch <- prometheus.MustNewConstMetric(d, kind, float64(v.Polling), "polling")
		ch <- prometheus.MustNewConstMetric(d, kind, float64(v.WebSocket), "websocket")
	}
	byReason := func(d *prometheus.Desc, rs []native.ReasonCount) {
		for _, r := range rs {
			counter(d, r.Count, r.Reason)
		}
	}

	byTransport(dSessions, m.Sessions, prometheus.GaugeValue)
	byTransport(dSessionsOpened, m.SessionsOpened, prometheus.CounterValue)
	counter(dUpgrades, m.Upgrades)
	byReason(dSessionsClosed, m.SessionsClosed)
	byReason(dConnErrors, m.ConnectionErrors)

	gauge(dNamespaces, float64(len(m.Namespaces)))
	var otherSockets, otherRooms int
	roomsKnown := true
	for i, n := range m.Namespaces {
		if n.Rooms < 0 {
			roomsKnown = false
		}
		if i >= MaxNamespaces {
			otherSockets += n.Sockets
			otherRooms += max(n.Rooms, 0)
			continue
		}
		gauge(dSockets, float64(n.Sockets), n.Name)
		if n.Rooms >= 0 {
			gauge(dRooms, float64(n.Rooms), n.Name)
		}
	}
	if len(m.Namespaces) > MaxNamespaces {
		gauge(dSockets, float64(otherSockets), "other")
		if roomsKnown {
			gauge(dRooms, float64(otherRooms), "other")
		}
	}
	counter(dConnected, m.SocketsConnected)
	byReason(dDisconnects, m.Disconnects)

	counter(dEventsIn, m.EventsReceived)
	counter(dEventsOut, m.EventsEmitted)
	counter(dBroadcasts, m.Broadcasts)
	counter(dMsgsIn, m.MessagesIn)
	counter(dMsgsOut, m.MessagesOut)
	byTransport(dBytesIn, m.BytesIn, prometheus.CounterValue)
	byTransport(dBytesOut, m.BytesOut, prometheus.CounterValue)

	h := m.AckLatency
	buckets := make(map[float64]uint64, len(h.Bounds))
	for i, b := range h.Bounds {
		buckets[b] = h.Buckets[i]
	}
	ch <- prometheus.MustNewConstHistogram(dAckLatency, h.Count, h.Sum, buckets)
	counter(dAckTimeouts, m.AcksTimedOut)
	counter(dVolatile, m.VolatileDropped)

	cl := m.Cluster
	counter(dPublished, cl.Published)
	counter(dReceived, cl.Received)
	counter(dAdapterErrors, cl.PublishErrors, "publish")
	counter(dAdapterErrors, cl.CountErrors, "count")
	counter(dAdapterErrors, cl.SubscribeErrors, "subscribe")
	counter(dAdapterDropped, cl.Dropped)
	gauge(dAdapterPending, float64(cl.Pending))
	counter(dReqTimeouts, m.ClusterRequestTimeouts)

	counter(dRecovered, m.RecoverySucceeded)
	counter(dRecoveryFailed, m.RecoveryFailed)

	l := c.srv.LimitStats() // the disconnections they cause are in the reasons above
	counter(dLimited, l.EventsLimited)
	counter(dLimitRefusals, l.RoomsRefused, "rooms")
	counter(dLimitRefusals, l.NamespacesRefused, "namespaces")
	counter(dLimitRefusals, l.ConnectionsRefused, "connections")
	counter(dEventsRefused, l.EventsNotAllowed, native.ReasonEventNotAllowed)
	counter(dEventsRefused, l.EventsTooLarge, native.ReasonPayloadTooLarge)
}

// Handler serves srv's metrics in the Prometheus formats, with the Go
// runtime's and the process's (go_*, process_*), from a registry of its
// own: call it once per server (each call makes a registry).
func Handler(srv *native.Server) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(srv),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}
