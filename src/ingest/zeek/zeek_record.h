// The format-independent half of the Zeek decoders: which Zeek fields Vigil reads, the
// log types it understands, and how one record's field texts become an Event.
//
// Both zeek-tsv and zeek-json first locate each field's text (a view into the input) in a
// RecordFields, then call BuildEvent, so a conn record decodes to the same Event whatever
// its encoding. Everything here is pure and allocation-free; nothing throws.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "core/event.h"

namespace vigil::ingest::zeek {

// Zeek log types Vigil turns into events. kOther is any other log (weird, notice, ssh ...).
enum class LogType : uint8_t { kUnknown = 0, kConn, kHttp, kDns, kSsl, kFiles, kOther };
const char* LogTypeName(LogType t);
// Maps a TSV "#path" value to a log type: "conn" -> kConn ..., anything else -> kOther.
LogType LogTypeFromPath(std::string_view path);

// The Zeek fields Vigil reads (column names as Zeek writes them in #fields and as JSON keys).
// The k*Marker entries are never read; their presence tells log types apart in JSON.
enum class Field : uint8_t {
  kTs = 0,
  kUid,
  kOrigH,
  kOrigP,
  kRespH,
  kRespP,
  kProto,
  // conn
  kService,
  kDuration,
  kOrigBytes,
  kRespBytes,
  kConnState,
  kHistory,
  kOrigPkts,
  kRespPkts,
  // http
  kMethod,
  kHost,
  kUri,
  kReferrer,
  kUserAgent,
  kRequestBodyLen,
  kResponseBodyLen,
  kStatusCode,
  kRespMimeTypes,
  kRespFuids,
  kRespFilenames,
  // dns
  kQuery,
  kQtypeName,
  kRcodeName,
  kAnswers,
  kRejected,
  // ssl
  kServerName,
  kVersion,
  kCipher,
  kSubject,
  kIssuer,
  kJa3,
  kEstablished,
  // files
  kFuid,
  kTxHosts,
  kRxHosts,
  kConnUids,
  kSource,
  kMimeType,
  kFilename,
  kMd5,
  kSha1,
  kSha256,
  kSeenBytes,
  kTotalBytes,
  kIsOrig,
  // markers: quic.log has server_name, sip.log has method/user_agent/status_code.
  kQuicMarker,
  kSipMarker,
  kCount,
  kIgnore = kCount,  // a column or key Vigil does not read
};
inline constexpr int kFieldCount = static_cast<int>(Field::kCount);
static_assert(kFieldCount <= 64, "RecordFields keeps presence in one 64-bit mask");

// The field a Zeek column name / JSON key names, or Field::kIgnore. One switch on the
// length then a compare: cheap enough to run on every JSON key.
Field LookupField(std::string_view name);

// The text of each field of one record. A field is present when the record gives it a
// value; Zeek's unset "-" (TSV) and null (JSON) are absent, "(empty)" and [] are present
// and empty. Views point into the input (or into a decoder's string arena).
struct RecordFields {
  std::array<std::string_view, kFieldCount> text;
  uint64_t present = 0;
  // JSON only: ts was a string (ISO 8601) rather than a number.
  bool ts_is_string = false;

  void Clear() {
    present = 0;
    ts_is_string = false;
  }
  void Set(Field f, std::string_view v) {
    text[static_cast<int>(f)] = v;
    present |= Bit(f);
  }
  bool Has(Field f) const { return present & Bit(f); }
  std::string_view Get(Field f) const {
    return Has(f) ? text[static_cast<int>(f)] : std::string_view();
  }
  static constexpr uint64_t Bit(Field f) { return uint64_t{1} << static_cast<int>(f); }
};

// Guesses the log type of a JSON record from the fields it has (JSON logs carry no #path):
// fuid with mime_type/seen_bytes/total_bytes/source/tx_hosts -> files; query/qtype_name ->
// dns; method/user_agent/status_code (not sip) -> http; server_name/cipher/established (not
// quic) -> ssl; conn_state, or proto with orig_pkts -> conn; anything else -> kOther.
LogType InferLogType(const RecordFields& f);

// Why a record was rejected: a code from the decoder contract ("bad-timestamp",
// "bad-address", "bad-number") and a sentence. code == nullptr means no error.
struct BuildError {
  const char* code = nullptr;
  const char* reason = nullptr;
  explicit operator bool() const { return code != nullptr; }
};

// Fills `ev` (time, kind, uid, net and body; not pos or raw) from the fields of a record of
// log type `type` (kConn ... kFiles). Returns an error, leaving `ev` partly filled, when ts
// is missing or does not parse, an address does not parse (or a conn/http/dns/ssl record has
// none), or a port, count, interval or status code is not a number in range.
//
// files.log: uid is the connection uid (Zeek >= 5 "uid", or the first of "conn_uids"), so a
// file links to its conn/http records like every other event; the file id is in
// FileBody::fuid. The tuple comes from id.* when present (Zeek >= 5), else from the first of
// tx_hosts (the sender) and rx_hosts (the receiver): the originator is the sender when
// is_orig is true, the receiver otherwise; ports are then 0 and proto tcp. net.valid is false
// when the record names no hosts.
BuildError BuildEvent(LogType type, const RecordFields& f, Event& ev);

// The parsers BuildEvent uses (exposed for tests). They accept exactly the text Zeek
// writes: decimal digits, no sign, no spaces. Each tries a word-at-a-time fast path for the
// shapes Zeek writes and hands anything else to its *General twin; the two accept the same
// inputs and give the same values (tested in zeek_record_test.cc). They read only the bytes
// of `s`, never throw, and leave `out` unchanged when they return false.
bool ParseU64(std::string_view s, uint64_t& out);
bool ParsePort(std::string_view s, uint16_t& out);
// Parses a dotted IPv4 address, or an IPv6 one through IpAddr::Parse.
bool ParseAddr(std::string_view s, IpAddr& out);
// Zeek times and intervals, and JSON epoch times, to microseconds: "0.012744",
// "1599755438.238535", "-0.5", "1.5e9" (exponents through from_chars, within +-292,000 years).
bool ParseSeconds(std::string_view s, Micros& out);

// The byte-at-a-time parsers behind the ones above, which define their results.
bool ParseU64General(std::string_view s, uint64_t& out);
bool ParsePortGeneral(std::string_view s, uint16_t& out);
bool ParseAddrGeneral(std::string_view s, IpAddr& out);
bool ParseSecondsGeneral(std::string_view s, Micros& out);

}  // namespace vigil::ingest::zeek
