// libpq, opened on first use (core/dynlib.h says why): the functions the PostgreSQL store
// calls, as a table. OpenPostgresStore loads it before connecting; every other call of the
// store comes after a connection, so it reads the table through Pq() without checking.
#pragma once

#include <libpq-fe.h>

#include "core/status.h"

namespace vigil::store {

struct PqApi {
  decltype(&::PQconnectdb) connectdb = nullptr;
  decltype(&::PQstatus) status = nullptr;
  decltype(&::PQerrorMessage) error_message = nullptr;
  decltype(&::PQfinish) finish = nullptr;
  decltype(&::PQreset) reset = nullptr;
  decltype(&::PQdb) db = nullptr;
  decltype(&::PQhost) host = nullptr;
  decltype(&::PQport) port = nullptr;
  decltype(&::PQsetClientEncoding) set_client_encoding = nullptr;
  decltype(&::PQsetNoticeProcessor) set_notice_processor = nullptr;
  decltype(&::PQexec) exec = nullptr;
  decltype(&::PQexecParams) exec_params = nullptr;
  decltype(&::PQresultStatus) result_status = nullptr;
  decltype(&::PQresultErrorField) result_error_field = nullptr;
  decltype(&::PQresultErrorMessage) result_error_message = nullptr;
  decltype(&::PQntuples) ntuples = nullptr;
  decltype(&::PQgetisnull) getisnull = nullptr;
  decltype(&::PQgetvalue) getvalue = nullptr;
  decltype(&::PQgetlength) getlength = nullptr;
  decltype(&::PQcmdTuples) cmd_tuples = nullptr;
  decltype(&::PQunescapeBytea) unescape_bytea = nullptr;
  decltype(&::PQfreemem) freemem = nullptr;
  decltype(&::PQclear) clear = nullptr;
};

// Loads libpq.so.5 on the first call, from any thread; the same answer after.
Status LoadPq();
// The table. Only after LoadPq() returned Ok.
const PqApi& Pq();

}  // namespace vigil::store
