// libsql/libsql.hpp: everything, for those who want one include.
#pragma once

#include "libsql/adapter.hpp"
#include "libsql/connection.hpp"
#include "libsql/database.hpp"
#include "libsql/error.hpp"
#include "libsql/hooks.hpp"
#include "libsql/migrations.hpp"
#include "libsql/options.hpp"
#include "libsql/params.hpp"
#include "libsql/pool.hpp"
#include "libsql/pragma.hpp"
#include "libsql/rows.hpp"
#include "libsql/schema.hpp"
#include "libsql/statement.hpp"
#include "libsql/transaction.hpp"
#include "libsql/types.hpp"
#include "libsql/value.hpp"
