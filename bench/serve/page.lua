-- wrk: a 100-row page of one filtered selection at a random offset, by its cursor
-- (`<offset>.<fingerprint>`). Args: path with query (no cursor), fingerprint, total.
init = function(args)
  base = args[1]
  fp = args[2]
  total = tonumber(args[3])
  math.randomseed(11)
end
request = function()
  local off = math.random(0, math.max(total - 100, 0))
  local path = base
  if off > 0 then path = base .. "&cursor=" .. off .. "." .. fp end
  return wrk.format("GET", path)
end
