-- Headless Neovim test, driven by tests/test_editor_client.py:
--   nvim --headless -u NONE -c "luafile tests/nvim/test_magicoder.lua"
-- with $MAGICODER_PYTHON, $MAGICODER_MODEL, $MAGICODER_FILE (a Python file to edit) and $MAGICODER_RESULT
-- (where the JSON results go). Uses the README's config (magicoder.lua), asks for the code action on
-- the commented function, executes its command (the server's workspace/applyEdit is applied to the
-- buffer by vim.lsp.util.apply_workspace_edit) and requests an inline completion.
local function env(name)
  local value = os.getenv(name)
  assert(value, "$" .. name .. " is not set")
  return value
end
local here = vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":p:h")
local results = { statuses = {}, applied_edits = 0 }
local ACTION = "Ask Magicoder: return the sum of the squares of xs" -- the sample's instruction comment

local function text_of(bufnr)
  return table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), "\n") .. "\n"
end

local function wait_for(what, timeout_ms, predicate)
  if not vim.wait(timeout_ms, predicate, 20) then error("timed out waiting for " .. what, 0) end
end

local function request(client, bufnr, method, params, timeout_ms)
  local response, err = client.request_sync(method, params, timeout_ms, bufnr)
  if not response then error(method .. ": " .. tostring(err), 0) end
  if response.err then error(method .. ": " .. vim.inspect(response.err), 0) end
  return response.result
end

local function run()
  local default_apply = vim.lsp.handlers["workspace/applyEdit"]
  vim.lsp.handlers["workspace/applyEdit"] = function(err, params, ctx)
    results.applied_edits = results.applied_edits + 1
    return default_apply(err, params, ctx) -- vim.lsp.util.apply_workspace_edit
  end
  dofile(here .. "/magicoder.lua").setup({ python = env("MAGICODER_PYTHON"), model = env("MAGICODER_MODEL") })
  vim.cmd("edit " .. vim.fn.fnameescape(env("MAGICODER_FILE")))
  local bufnr = vim.api.nvim_get_current_buf()
  vim.bo[bufnr].filetype = "python" -- -u NONE: no filetype detection; this fires the config's autocmd
  local client
  wait_for("the magicoder client", 10000, function()
    client = vim.lsp.get_active_clients()[1]
    return client ~= nil and client.initialized
  end)
  local status_handler = client.handlers["magicoder/status"]
  client.handlers["magicoder/status"] = function(err, status, ctx)
    table.insert(results.statuses, status.state)
    results.last_status = status
    return status_handler(err, status, ctx)
  end
  wait_for("the model to load", 120000, function()
    local state = results.last_status and results.last_status.state
    return state == "ready" or state == "error"
  end)
  assert(results.last_status.state == "ready", "the server says: " .. vim.inspect(results.last_status))

  local uri = vim.uri_from_bufnr(bufnr)
  local actions = request(client, bufnr, "textDocument/codeAction", {
    textDocument = { uri = uri },
    range = { start = { line = 3, character = 0 }, ["end"] = { line = 9, character = 0 } },
    context = { diagnostics = {} },
  }, 10000)
  local action
  for _, a in ipairs(actions or {}) do
    if a.title == ACTION then action = a end
  end
  assert(action, "no action " .. ACTION .. ": " .. vim.inspect(actions))
  results.action_title = action.title
  results.ask = request(client, bufnr, "workspace/executeCommand", {
    command = action.command.command,
    arguments = action.command.arguments,
  }, 120000)
  results.after_ask = text_of(bufnr)

  -- An inline completion after typing at the end of the buffer.
  vim.api.nvim_buf_set_lines(bufnr, -1, -1, false, { "    result = " })
  local last = vim.api.nvim_buf_line_count(bufnr) - 1
  results.before_inline = text_of(bufnr)
  results.inline_position = { line = last, character = #"    result = " }
  results.inline = request(client, bufnr, "textDocument/inlineCompletion", {
    textDocument = { uri = uri },
    position = results.inline_position,
    context = { triggerKind = 1 },
  }, 60000)
  client.stop()
  wait_for("the server to exit", 10000, function() return client.is_stopped() end)
end

local ok, err = xpcall(run, debug.traceback)
results.ok = ok
if not ok then results.error = tostring(err) end
local out = io.open(env("MAGICODER_RESULT"), "w")
out:write(vim.fn.json_encode(results))
out:close()
for _, c in ipairs(vim.lsp.get_active_clients()) do c.stop(true) end
vim.cmd(ok and "qall!" or "cquit! 1")
