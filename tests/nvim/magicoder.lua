-- Magicoder in Neovim 0.7+: save as ~/.config/nvim/lua/magicoder.lua, then in init.lua:
--   require("magicoder").setup({ python = "python3", model = "~/models/magicoder" })
-- Select code under an instruction comment and press <leader>ma for "Ask Magicoder: …".
local M = {}

function M.setup(opts)
  opts = opts or {}
  local client_id
  local function attach(args)
    if not client_id or vim.lsp.client_is_stopped(client_id) then
      client_id = vim.lsp.start_client({
        name = "magicoder",
        cmd = { vim.fn.expand(opts.python or "python3"), "-m", "lsp_server", "--stdio" },
        root_dir = vim.fn.getcwd(),
        init_options = {
          model = opts.model and vim.fn.expand(opts.model) or nil,
          maxNewTokens = opts.max_new_tokens,
          device = opts.device,
        },
        handlers = {
          ["magicoder/status"] = function(_, status)
            if status.state == "error" then
              vim.notify("Magicoder: " .. (status.message or "error"), vim.log.levels.ERROR)
            end
          end,
        },
      })
    end
    vim.lsp.buf_attach_client(args.buf, client_id)
    vim.keymap.set("x", "<leader>ma", ":<C-u>lua vim.lsp.buf.range_code_action()<CR>", { buffer = args.buf, silent = true })
  end
  vim.api.nvim_create_autocmd("FileType", {
    pattern = opts.filetypes or { "python", "javascript", "typescript", "lua", "rust", "go", "c", "cpp", "java" },
    callback = attach,
  })
end

return M
