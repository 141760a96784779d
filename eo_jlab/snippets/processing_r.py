"""R snippets for process executions and jobs: httr for HTTP, xml2 for WPS documents (the
Execute request eo-jlab sends, status documents), jsonlite for OGC API - Processes."""

from __future__ import annotations

from urllib.parse import urlsplit

from .processing import Auth, JobPlan, ProcessPlan, sandbox_path
from .quoting import json_text, r, r_chr, r_str

COMMON = r"""report <- function(status, progress, message) {  # one line per status reported
  percent <- if (length(progress) == 1 && !is.na(progress)) paste0(" ", progress, "%") else ""
  text <- if (length(message) == 1 && !is.na(message)) as.character(message) else ""
  cat(trimws(paste0(status, percent, " ", text), which = "right"), "\n", sep = "")
}
show_value <- function(value) {
  if (is.character(value) && length(value) == 1) return(value)
  as.character(jsonlite::toJSON(value, auto_unbox = TRUE, null = "null", digits = NA))
}
print_results <- function(results) {
  for (name in names(results)) cat(name, ": ", show_value(results[[name]]), "\n", sep = "")
}
"""

NO_AUTH = "auth_for <- function(url) NULL  # the service needs no credentials\n"

WPS_HELPERS = r"""JSON_TYPES <- c("application/json", "application/geo+json",
                "application/vnd.geo+json")
xpath_first <- function(node, path) xml2::xml_find_first(node, path)
found <- function(node) !inherits(node, "xml_missing")
# CRS spellings whose corners come latitude first.
LAT_FIRST <- c("urn:ogc:def:crs:epsg::4326", "urn:ogc:def:crs:epsg:6.6:4326",
               "urn:x-ogc:def:crs:epsg:4326", "http://www.opengis.net/def/crs/epsg/0/4326",
               "http://www.opengis.net/gml/srs/epsg.xml#4326")
bbox_value <- function(box) {  # as eo-jlab gives a bounding box: [west, south, east, north], CRS
  crs <- xml2::xml_attr(box, "crs")
  if (is.na(crs)) crs <- "urn:ogc:def:crs:OGC:1.3:CRS84"
  corner <- function(name) {
    text <- xml2::xml_text(xpath_first(box, paste0("./*[local-name()='", name, "']")))
    suppressWarnings(as.numeric(strsplit(trimws(text), "\\s+")[[1]]))
  }
  lower <- corner("LowerCorner")
  upper <- corner("UpperCorner")
  if (length(lower) < 2 || length(upper) < 2 || anyNA(c(lower[1:2], upper[1:2]))) {
    return(list(bbox = NULL, crs = crs))
  }
  axes <- if (tolower(trimws(crs)) %in% LAT_FIRST) c(2, 1) else c(1, 2)
  list(bbox = c(lower[axes], upper[axes]), crs = crs)
}
read_status <- function(url) {  # NULL when unreadable (a status document caught half written)
  response <- tryCatch(httr::GET(url, auth_for(url)), error = function(e) NULL)
  if (is.null(response) || httr::status_code(response) >= 400) return(NULL)
  tryCatch(xml2::read_xml(httr::content(response, as = "text", encoding = "UTF-8")),
           error = function(e) NULL)
}
"""

# Follow ``doc`` (an ExecuteResponse, NULL when unreadable) at ``status_url`` to its end, then
# read its outputs as eo-jlab does (references as links, JSON content parsed).
FOLLOW_WPS = r"""failures <- 0
repeat {
  state <- if (is.null(doc)) NULL else xpath_first(doc, "/*/*[local-name()='Status']/*")
  if (!is.null(state) && found(state)) {
    failures <- 0
    name <- xml2::xml_name(state)
    percent <- suppressWarnings(as.integer(xml2::xml_attr(state, "percentCompleted")))
    report(name, if (name == "ProcessSucceeded") 100L else percent,
           trimws(gsub("\\s+", " ", xml2::xml_text(state))))
    if (name %in% c("ProcessSucceeded", "ProcessFailed")) break
  } else {
    failures <- failures + 1
    if (failures >= 10) stop("The status document at ", status_url, " cannot be read.")
  }
  if (is.na(status_url)) stop("The service sent no status document to follow.")
  Sys.sleep(1)
  doc <- read_status(status_url)
}
if (name == "ProcessFailed") {
  reasons <- xml2::xml_text(xml2::xml_find_all(state, ".//*[local-name()='ExceptionText']"))
  stop("The process failed: ", paste(trimws(reasons), collapse = "; "))
}
results <- list()  # output id: link (by reference) or value
outputs <- xml2::xml_find_all(
  doc, "/*/*[local-name()='ProcessOutputs']/*[local-name()='Output']")
for (output in outputs) {
  id <- xml2::xml_text(xpath_first(output, "./*[local-name()='Identifier']"))
  reference <- xpath_first(output, "./*[local-name()='Reference']")
  if (found(reference)) {
    results[id] <- list(xml2::xml_find_chr(reference, "string(@*[local-name()='href'])"))
    next
  }
  data <- xpath_first(output, "./*[local-name()='Data']/*")
  value <- NULL
  if (found(data) && xml2::xml_name(data) == "BoundingBoxData") {
    value <- bbox_value(data)
  } else if (found(data)) {
    children <- xml2::xml_children(data)
    value <- if (length(children) > 0) as.character(children[[1]]) else xml2::xml_text(data)
    type <- xml2::xml_attr(data, "mimeType")
    if (xml2::xml_name(data) == "ComplexData" && (is.na(type) || type %in% JSON_TYPES)) {
      value <- tryCatch(jsonlite::parse_json(value), error = function(e) value)
    }
  }
  results[id] <- list(value)
}
print_results(results)
"""

OGC_HELPERS = r"""RESULTS <- c("http://www.opengis.net/def/rel/ogc/1.0/results", "results")
MONITOR <- c("monitor", "status", "http://www.opengis.net/def/rel/ogc/1.0/job")
link <- function(document, rels, base) {  # the first JSON link with one of rels, absolute
  if (!is.list(document)) return(NULL)
  for (entry in document$links) {
    type <- if (is.null(entry$type)) "json" else entry$type
    if (isTRUE(entry$rel %in% rels) && !is.null(entry$href) && grepl("json", type, fixed = TRUE)) {
      return(xml2::url_absolute(entry$href, base))
    }
  }
  NULL
}
body_text <- function(response) {
  text <- rawToChar(response$content)
  Encoding(text) <- "UTF-8"
  text
}
is_object <- function(x) is.list(x) && !is.null(names(x))
outputs_of <- function(response, requested = character(0)) {  # output id: link or value
  kind <- httr::headers(response)[["content-type"]]
  kind <- if (is.null(kind)) "" else tolower(trimws(sub(";.*$", "", kind)))
  fallback <- if (length(requested) == 1) requested[[1]] else "result"
  out <- list()
  if (!(kind == "application/json" || endsWith(kind, "+json"))) {
    text <- startsWith(kind, "text/") || endsWith(kind, "xml")
    out[fallback] <- list(if (text) body_text(response) else response$content)
    return(out)
  }
  body <- jsonlite::parse_json(body_text(response))
  one <- function(value) {
    if (is_object(value) && "href" %in% names(value)) return(value$href)
    if (is_object(value) && "value" %in% names(value)) return(value[["value"]])
    value
  }
  if (is_object(body)) {
    outputs <- body$outputs
    if (is.list(outputs) && !is_object(outputs)) {
      for (o in outputs) {
        if (is_object(o)) out[if (is.null(o$id)) fallback else as.character(o$id)] <- list(one(o))
      }
      return(out)
    }
    if (is_object(outputs)) {
      for (key in names(outputs)) out[key] <- list(one(outputs[[key]]))
      return(out)
    }
    if (is.character(body$id) && any(c("value", "href") %in% names(body))) {
      out[body$id] <- list(one(body))
      return(out)
    }
    if ((length(requested) > 0 && all(names(body) %in% requested)) ||
        (length(requested) == 0 && length(body) > 0)) {
      for (key in names(body)) out[key] <- list(one(body[[key]]))
      return(out)
    }
  }
  out[fallback] <- list(body)
  out
}
"""

# Follow ``job_url`` to the end of the job, then read its results into ``response``.
FOLLOW_OGC = r"""repeat {
  answer <- httr::GET(job_url, httr::accept_json(), auth_for(job_url))
  if (httr::status_code(answer) %in% c(404, 410)) {
    stop("The service no longer knows this job (dismissed or expired).")
  }
  httr::stop_for_status(answer)
  job <- jsonlite::parse_json(body_text(answer))
  status <- tolower(as.character(job$status))
  if (status == "succeeded") status <- "successful"
  report(status, if (is.null(job$progress)) NA else job$progress,
         if (is.null(job$message)) NA else job$message)
  if (status %in% c("successful", "failed", "dismissed")) break
  Sys.sleep(1)
}
if (status != "successful") {
  stop("The job ended ", status, ": ", if (is.null(job$message)) "no reason given" else job$message)
}
results_url <- link(job, RESULTS, job_url)
if (is.null(results_url)) results_url <- paste0(sub("/+$", "", job_url), "/results")
response <- httr::GET(results_url, httr::accept_json(), auth_for(results_url))
httr::stop_for_status(response)
requested <- character(0)
"""


# The local sandbox: no address and no token in the code (both change at each start).
SANDBOX = r"""# The local sandbox writes its address and token here each time it starts.
connection <- path.expand(__PATH__)
sandbox_file <- function(href) {  # a result of the sandbox as its file here (outputs outlive it)
  path <- sub("^(http://(127\\.0\\.0\\.1|localhost)(:[0-9]+)?)?/outputs/", "", href)
  if (identical(path, href) || ".." %in% strsplit(path, "/", fixed = TRUE)[[1]]) return(href)
  file.path(dirname(connection), "outputs", path)
}
"""
SANDBOX_CONNECT = r"""if (!file.exists(connection)) {
  stop("The local sandbox is not running (", connection, " is missing): start it in ",
       "eo-jlab's Processes section.")
}
sandbox <- jsonlite::fromJSON(connection)
auth_for <- function(url) {  # the sandbox's token goes to the sandbox only
  if (startsWith(url, paste0(sandbox$url, "/"))) {
    httr::add_headers(Authorization = paste("Bearer", sandbox$token))
  } else {
    NULL
  }
}
"""
REFERENCE = """xml2::xml_find_chr(reference, "string(@*[local-name()='href'])")"""


def _sandbox(path: str, connect: bool) -> str:
    """Code finding the sandbox through its connection file ``path``: ``sandbox_file(href)``;
    with ``connect``, ``sandbox`` (url, wps, token) and ``auth_for(url)``."""
    return SANDBOX.replace("__PATH__", r_str(path)) + (SANDBOX_CONNECT if connect else "")


def _follow(plan_sandbox: str | None) -> str:
    """``FOLLOW_WPS``, with a sandbox's results by reference as their files."""
    if not plan_sandbox:
        return FOLLOW_WPS
    assert REFERENCE in FOLLOW_WPS
    return FOLLOW_WPS.replace(REFERENCE, f"sandbox_file({REFERENCE})")


def _lines(text: str) -> str:
    """A multi-line text as R code, one string literal per line."""
    lines = text.split("\n")
    if len(lines) == 1:
        return r_str(text)
    return (
        "paste(c(\n"
        + "".join(f"  {r_str(line)},\n" for line in lines)[:-2]
        + '\n) , collapse = "\\n")'.replace(") ,", "),")
    )


def _auth(auth: Auth | None) -> str:
    if auth is None:
        return NO_AUTH
    lines = [
        "# The service's credentials come from the environment, never from the notebook.",
        "secret <- function(name) {",
        "  value <- Sys.getenv(name)",
        '  if (!nzchar(value)) stop("Set the environment variable ", name, ".")',
        "  value",
        "}",
    ]
    if auth.kind == "bearer":
        lines.append(
            f'auth_header <- httr::add_headers(Authorization = paste("Bearer", '
            f"secret({r_str(auth.token_env or '')})))"
        )
    else:
        user = f"secret({r_str(auth.username_env)})" if auth.username_env else r_str(auth.username)
        lines.append(
            'auth_header <- httr::add_headers(Authorization = paste("Basic", jsonlite::base64_enc('
            f'paste0({user}, ":", secret({r_str(auth.password_env or "")})))))'
        )
    lines += [
        f"origin <- {r_str(auth.origin.lower())}",
        "auth_for <- function(url) {  # credentials go to the service's own origin only",
        "  url <- tolower(url)",
        '  if (url == origin || startsWith(url, paste0(origin, "/"))) auth_header else NULL',
        "}",
    ]
    return "\n".join(lines) + "\n"


def render_process(plan: ProcessPlan, widgets: bool) -> tuple[str, list[str]]:
    if plan.protocol == "wps":
        url = f"url <- {r_str(plan.url)}  # the WPS 1.0.0 service\n"
        if plan.sandbox:
            url = 'url <- paste0(sandbox$url, "/wps")  # the sandbox\'s WPS, where it runs now\n'
        code = (
            COMMON
            + (_sandbox(plan.sandbox, connect=True) if plan.sandbox else _auth(plan.auth))
            + WPS_HELPERS
            + "\n"
            + url
            + "# The Execute request eo-jlab sends for this execution.\n"
            + f"execute <- {_lines(plan.document)}\n"
            + "response <- httr::POST(url, body = execute, "
            + 'httr::content_type("text/xml; charset=utf-8"),\n'
            + "                       auth_for(url))\n"
            + 'doc <- tryCatch(xml2::read_xml(httr::content(response, as = "text", '
            + 'encoding = "UTF-8")),\n'
            + "                error = function(e) NULL)\n"
            + 'if (!is.null(doc) && xml2::xml_name(doc) == "ExceptionReport") {\n'
            + '  reasons <- xml2::xml_text(xml2::xml_find_all(doc, "//*[local-name()='
            + "'ExceptionText']\"))\n"
            + '  stop("The service refused the request: ", paste(trimws(reasons), '
            + 'collapse = "; "))\n'
            + "}\n"
            + "httr::stop_for_status(response)\n"
            + 'if (is.null(doc)) stop("The service did not answer with an XML document.")\n'
            + 'status_url <- xml2::xml_attr(doc, "statusLocation")  # NA: it ran synchronously\n'
            + _follow(plan.sandbox)
        )
        return code, ["httr", "xml2", "jsonlite"]
    lines = [
        f"url <- {r_str(plan.url)}  # the service's landing page",
        f"execution_url <- {r_str(plan.execution_url)}",
        f"body <- {r_str(json_text(plan.body))}",
        f"requested <- {r_chr(plan.requested)}  # outputs the request names",
    ]
    if plan.mode == "auto":
        lines += [
            "# 'auto': the process's own preference (its first job control option), as eo-jlab.",
            f"process_url <- {r_str(plan.process_url)}",
            "answer <- httr::GET(process_url, httr::accept_json(), auth_for(process_url))",
            "httr::stop_for_status(answer)",
            "options <- unlist(jsonlite::parse_json(body_text(answer))$jobControlOptions)",
            'options <- options[options %in% c("sync-execute", "async-execute")]',
            'asynchronous <- length(options) > 0 && options[[1]] == "async-execute"',
        ]
    else:
        lines.append(f"asynchronous <- {r(plan.mode == 'async')}")
    lines += [
        "response <- httr::POST(execution_url, body = body, httr::content_type_json(),",
        "                       httr::accept_json(), auth_for(execution_url),",
        '                       if (asynchronous) httr::add_headers(Prefer = "respond-async"))',
        "if (httr::status_code(response) >= 400) {",
        '  stop("The service answered HTTP ", httr::status_code(response), ": ",',
        "       substr(body_text(response), 1, 500))",
        "}",
        "document <- tryCatch(jsonlite::parse_json(body_text(response)), error = function(e) NULL)",
        "if (httr::status_code(response) %in% c(201, 202) ||",
        "    (is_object(document) && !is.null(document$jobID) && !is.null(document$status))) {",
        "  # The job runs on: follow it at the URL the service gave.",
        '  location <- httr::headers(response)[["location"]]',
        "  job_url <- if (!is.null(location)) xml2::url_absolute(location, response$url) else",
        "    link(document, MONITOR, response$url)",
        '  if (is.null(job_url)) job_url <- paste0(url, "/jobs/", document$jobID)',
    ]
    follow = "".join(("  " + line if line else "") + "\n" for line in FOLLOW_OGC.splitlines())
    code = (
        COMMON
        + _auth(plan.auth)
        + OGC_HELPERS
        + "\n"
        + "\n".join(lines)
        + "\n"
        + follow
        + "}\n"
        + "results <- outputs_of(response, requested)\n"
        + "print_results(results)\n"
    )
    return code, ["httr", "jsonlite", "xml2"]


def render_job(plan: JobPlan, widgets: bool) -> tuple[str, list[str]]:
    if plan.status_url is None:
        entries = [
            f"{r_str(res['id'])} = {r(res.get('href', res.get('value')))}" for res in plan.results
        ]
        if plan.sandbox:  # its results by reference are files of the sandbox
            entries = [
                f"{r_str(res['id'])} = sandbox_file({r_str(sandbox_path(res['href']))})"
                if "href" in res
                else e
                for res, e in zip(plan.results, entries, strict=True)
            ]
        code = (
            COMMON
            + (_sandbox(plan.sandbox, connect=False) if plan.sandbox else "")
            + "# This job ran synchronously: the service keeps no record of it to ask for again.\n"
            + "# Its status and results as eo-jlab received them:\n"
            + f"status <- {r_str(plan.status)}\n"
            + f"error <- {r_str(plan.error) if plan.error is not None else 'NA'}\n"
            + "results <- list("
            + ", ".join(entries)
            + ")  # output id: link (by reference) or value\n"
            + 'cat("status: ", status, "\\n", sep = "")\n'
            + 'if (status != "successful") {\n'
            + '  stop("The job ended ", status, ": ",\n'
            + '       if (is.na(error)) "no reason given" else error)\n'
            + "}\n"
            + "print_results(results)\n"
        )
        return code, ["jsonlite"]
    if plan.protocol == "wps":
        status = f"status_url <- {r_str(plan.status_url)}  # the job's status document\n"
        if plan.sandbox:
            path = r_str(urlsplit(plan.status_url).path)
            status = f"status_url <- paste0(sandbox$url, {path})  # where the sandbox runs now\n"
        code = (
            COMMON
            + (_sandbox(plan.sandbox, connect=True) if plan.sandbox else _auth(plan.auth))
            + WPS_HELPERS
            + "\n"
            + status
            + "doc <- read_status(status_url)\n"
            + _follow(plan.sandbox)
        )
        return code, ["httr", "xml2", "jsonlite"]
    code = (
        COMMON
        + _auth(plan.auth)
        + OGC_HELPERS
        + f"\njob_url <- {r_str(plan.status_url)}  # the job at the service\n"
        + FOLLOW_OGC
        + "results <- outputs_of(response, requested)\n"
        + "print_results(results)\n"
    )
    return code, ["httr", "jsonlite", "xml2"]
