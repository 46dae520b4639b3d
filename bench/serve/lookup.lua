-- wrk: GET one customer by id, ids drawn at random (seeded) from the file given after `--`.
local ids = {}
init = function(args)
  for line in io.lines(args[1]) do ids[#ids + 1] = line end
  math.randomseed(7 + (tonumber(args[2]) or 0))
end
request = function()
  return wrk.format("GET", "/api/v1/customers/" .. ids[math.random(#ids)])
end
