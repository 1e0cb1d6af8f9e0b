#include "store/pq_api.h"

#include "core/dynlib.h"

namespace vigil::store {

namespace {
PqApi api;
}  // namespace

Status LoadPq() {
  static const Status loaded =
      LoadSymbols({"libpq.so.5"}, {Sym("PQconnectdb", api.connectdb),
                                   Sym("PQstatus", api.status),
                                   Sym("PQerrorMessage", api.error_message),
                                   Sym("PQfinish", api.finish),
                                   Sym("PQreset", api.reset),
                                   Sym("PQdb", api.db),
                                   Sym("PQhost", api.host),
                                   Sym("PQport", api.port),
                                   Sym("PQsetClientEncoding", api.set_client_encoding),
                                   Sym("PQsetNoticeProcessor", api.set_notice_processor),
                                   Sym("PQexec", api.exec),
                                   Sym("PQexecParams", api.exec_params),
                                   Sym("PQresultStatus", api.result_status),
                                   Sym("PQresultErrorField", api.result_error_field),
                                   Sym("PQresultErrorMessage", api.result_error_message),
                                   Sym("PQntuples", api.ntuples),
                                   Sym("PQgetisnull", api.getisnull),
                                   Sym("PQgetvalue", api.getvalue),
                                   Sym("PQgetlength", api.getlength),
                                   Sym("PQcmdTuples", api.cmd_tuples),
                                   Sym("PQunescapeBytea", api.unescape_bytea),
                                   Sym("PQfreemem", api.freemem),
                                   Sym("PQclear", api.clear)});
  return loaded;
}

const PqApi& Pq() { return api; }

}  // namespace vigil::store
