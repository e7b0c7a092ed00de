package synthetic

// rgb is a colour with channels in [0, 255].
type rgb [3]float32

// skyKind is the sky palette of a scene: gradients from top to horizon.
type skyKind uint8

const (
	skyDay skyKind = iota
	skyDusk
	skyOvercast
	skyNight
	skyHaze
	skyStage
)

// skies are (top, horizon) colours. All but night are bright at the top:
// light comes from above.
var skies = [...][2]rgb{
	skyDay:      {{70, 130, 215}, {185, 212, 240}},
	skyDusk:     {{80, 70, 150}, {250, 155, 80}},
	skyOvercast: {{160, 165, 175}, {205, 205, 210}},
	skyNight:    {{8, 10, 35}, {40, 42, 80}},
	skyHaze:     {{140, 175, 220}, {235, 225, 200}},
	skyStage:    {{110, 30, 140}, {245, 90, 170}},
}

// daylightSkies are the skies a daylight concept may be seen under.
var daylightSkies = [...]skyKind{skyDay, skyDusk, skyOvercast, skyHaze}

// groundKind is the ground palette and texture of a scene.
type groundKind uint8

const (
	grGrass groundKind = iota
	grSand
	grWater
	grAsphalt
	grSnow
	grField
	grDark
	grLeaves
	grStone
)

// grounds are (at the horizon, at the bottom) colours: the foreground is
// darker, as if in the shade of the photographer.
var grounds = [...][2]rgb{
	grGrass:   {{100, 150, 65}, {40, 85, 25}},
	grSand:    {{215, 190, 135}, {150, 120, 70}},
	grWater:   {{70, 120, 175}, {15, 45, 90}},
	grAsphalt: {{115, 115, 120}, {50, 50, 55}},
	grSnow:    {{225, 232, 245}, {150, 160, 190}},
	grField:   {{205, 180, 80}, {120, 95, 35}},
	grDark:    {{35, 38, 35}, {8, 10, 8}},
	grLeaves:  {{165, 95, 35}, {85, 40, 15}},
	grStone:   {{175, 165, 150}, {105, 95, 85}},
}

// shapeKind is the silhouette of a concept's objects; see shapePart.
type shapeKind uint8

const (
	shBuilding shapeKind = iota
	shParasol
	shConifer
	shSun
	shFlower
	shMountain
	shCar
	shSnowman
	shSailboat
	shCactus
	shBird
	shCastle
	shArch
	shBalloon
	shLighthouse
	shCrescent
	shTent
	shChurch
	shBarn
	shPyramid
	shWindmill
	shWheel
	shPalm
	shSheep
	shKite
	shRainbow
	shBus
	shRoundTree
	shBurst
	shShip
	shPerson
	shStatue
	// Clutter shapes.
	shDisc
	shBox
	shTriangle
	shDiamond
)

// texture decorates part 1 of an object with colour 2.
type texture uint8

const (
	texNone texture = iota
	texHStripes
	texVStripes
	texDots
	texWindows
	texLitWindows
	texSpeckle
	texChecker
)

// concept is one hidden class: its visual signature and its tag vocabulary.
type concept struct {
	name string
	// synonyms include other languages (some non-ASCII), typos are
	// misspellings users make, phrases are multi-word tags.
	synonyms, typos, phrases []string

	sky    skyKind
	ground groundKind
	shape  shapeKind
	tex    texture
	inSky  bool // objects float in the sky rather than stand on the ground
	c1     rgb  // main colour
	c2     rgb  // texture and secondary part colour
	c3     rgb  // details (wheels, doors, stems)
	// randHue draws c1 per object from the whole hue circle.
	randHue    bool
	minN, maxN int     // objects per image
	scale      float32 // object height, as a fraction of the image side, at mid depth
	aspect     float32 // width / height
	// depthMax bounds how far into the foreground objects stand (0: on the
	// horizon, 1: at the bottom edge); 0 means 1.
	depthMax float32
}

// concepts are in label order, most frequent first (Zipf ranks). Their
// names and tags must be unique across concepts: New checks it.
var concepts = [...]concept{
	{name: "city", synonyms: []string{"urban", "downtown", "stadt", "東京", "straße"}, typos: []string{"ctiy", "citty"}, phrases: []string{"new york", "city skyline"},
		sky: skyOvercast, ground: grAsphalt, shape: shBuilding, tex: texWindows, c1: rgb{120, 125, 140}, c2: rgb{190, 210, 225}, c3: rgb{40, 40, 45}, minN: 2, maxN: 4, scale: 0.55, aspect: 0.45, depthMax: 0.5},
	{name: "beach", synonyms: []string{"seaside", "playa", "plage"}, typos: []string{"beech", "baech"}, phrases: []string{"sandy beach", "beach umbrella"},
		sky: skyDay, ground: grSand, shape: shParasol, tex: texVStripes, c1: rgb{220, 40, 40}, c2: rgb{245, 245, 240}, c3: rgb{60, 50, 40}, minN: 1, maxN: 3, scale: 0.35, aspect: 1.1},
	{name: "forest", synonyms: []string{"woods", "wald", "bosque"}, typos: []string{"forrest", "froest"}, phrases: []string{"pine forest", "black forest"},
		sky: skyDay, ground: grGrass, shape: shConifer, c1: rgb{30, 90, 45}, c2: rgb{95, 60, 30}, c3: rgb{95, 60, 30}, minN: 3, maxN: 6, scale: 0.4, aspect: 0.6},
	{name: "sunset", synonyms: []string{"dusk", "sundown", "puesta de sol"}, typos: []string{"sunest", "sunsett"}, phrases: []string{"golden hour", "sunset sky"},
		sky: skyDusk, ground: grWater, shape: shSun, c1: rgb{255, 200, 90}, c2: rgb{255, 240, 190}, c3: rgb{255, 120, 40}, minN: 1, maxN: 1, scale: 0.3, aspect: 1},
	{name: "flower", synonyms: []string{"flowers", "blossom", "fleur"}, typos: []string{"flwoer", "flowr"}, phrases: []string{"wild flowers", "spring flowers"},
		sky: skyDay, ground: grGrass, shape: shFlower, c1: rgb{230, 80, 170}, c2: rgb{250, 220, 40}, c3: rgb{40, 120, 40}, minN: 2, maxN: 4, scale: 0.3, aspect: 0.6},
	{name: "mountain", synonyms: []string{"mountains", "alps", "berg", "montaña"}, typos: []string{"moutain", "mountian"}, phrases: []string{"swiss alps", "rocky mountains"},
		sky: skyDay, ground: grGrass, shape: shMountain, c1: rgb{110, 100, 95}, c2: rgb{245, 245, 250}, c3: rgb{80, 75, 70}, minN: 1, maxN: 2, scale: 0.75, aspect: 1.6, depthMax: 0.12},
	{name: "car", synonyms: []string{"auto", "automobile", "coche", "voiture"}, typos: []string{"autombile", "cars"}, phrases: []string{"classic car", "sports car"},
		sky: skyDay, ground: grAsphalt, shape: shCar, c1: rgb{200, 30, 35}, c2: rgb{170, 210, 235}, c3: rgb{20, 20, 20}, minN: 1, maxN: 2, scale: 0.22, aspect: 1.9},
	{name: "snow", synonyms: []string{"winter", "snowman", "schnee", "nieve"}, typos: []string{"snwo", "wintr"}, phrases: []string{"let it snow", "winter wonderland"},
		sky: skyOvercast, ground: grSnow, shape: shSnowman, c1: rgb{248, 248, 252}, c2: rgb{240, 120, 30}, c3: rgb{25, 25, 30}, minN: 1, maxN: 2, scale: 0.38, aspect: 0.6},
	{name: "sailing", synonyms: []string{"sailboat", "yacht", "segelboot"}, typos: []string{"sailling", "sialboat"}, phrases: []string{"sailing boat", "regatta race"},
		sky: skyDay, ground: grWater, shape: shSailboat, c1: rgb{250, 250, 245}, c2: rgb{130, 80, 40}, c3: rgb{60, 50, 40}, minN: 1, maxN: 3, scale: 0.35, aspect: 0.8, depthMax: 0.7},
	{name: "desert", synonyms: []string{"cactus", "sahara", "wüste", "desierto"}, typos: []string{"dessert", "desrt"}, phrases: []string{"death valley", "arizona desert"},
		sky: skyHaze, ground: grSand, shape: shCactus, c1: rgb{60, 140, 70}, c2: rgb{90, 170, 90}, c3: rgb{40, 100, 50}, minN: 1, maxN: 3, scale: 0.38, aspect: 0.7},
	{name: "birds", synonyms: []string{"bird", "birding", "vögel", "pájaro"}, typos: []string{"brids", "birsd"}, phrases: []string{"flock of birds", "bird watching"},
		sky: skyDay, ground: grGrass, shape: shBird, inSky: true, c1: rgb{25, 25, 30}, c2: rgb{25, 25, 30}, c3: rgb{25, 25, 30}, minN: 3, maxN: 6, scale: 0.07, aspect: 2.2},
	{name: "night", synonyms: []string{"nighttime", "nightscape", "nacht", "noche"}, typos: []string{"nite", "nigth"}, phrases: []string{"city at night", "night lights"},
		sky: skyNight, ground: grDark, shape: shBuilding, tex: texLitWindows, c1: rgb{30, 30, 45}, c2: rgb{255, 220, 110}, c3: rgb{15, 15, 20}, minN: 2, maxN: 4, scale: 0.55, aspect: 0.45, depthMax: 0.5},
	{name: "castle", synonyms: []string{"château", "burg", "castillo", "fortress"}, typos: []string{"catsle", "castel"}, phrases: []string{"medieval castle", "castle ruins"},
		sky: skyOvercast, ground: grGrass, shape: shCastle, c1: rgb{150, 145, 135}, c2: rgb{120, 115, 105}, c3: rgb{45, 35, 30}, minN: 1, maxN: 1, scale: 0.45, aspect: 1.3, depthMax: 0.4},
	{name: "bridge", synonyms: []string{"brücke", "puente", "pont"}, typos: []string{"brigde", "bidge"}, phrases: []string{"golden gate", "tower bridge"},
		sky: skyDay, ground: grWater, shape: shArch, c1: rgb{170, 70, 45}, c2: rgb{90, 40, 30}, c3: rgb{60, 30, 20}, minN: 1, maxN: 1, scale: 0.45, aspect: 2.6, depthMax: 0.25},
	{name: "balloon", synonyms: []string{"balloons", "montgolfière", "globo"}, typos: []string{"baloon", "ballon"}, phrases: []string{"hot air balloon", "balloon fiesta"},
		sky: skyDay, ground: grGrass, shape: shBalloon, inSky: true, randHue: true, tex: texVStripes, c2: rgb{250, 250, 250}, c3: rgb{110, 70, 40}, minN: 1, maxN: 3, scale: 0.25, aspect: 0.75},
	{name: "lighthouse", synonyms: []string{"phare", "leuchtturm", "faro"}, typos: []string{"lighthose", "ligthhouse"}, phrases: []string{"cape cod", "lighthouse keeper"},
		sky: skyDay, ground: grWater, shape: shLighthouse, tex: texHStripes, c1: rgb{245, 245, 240}, c2: rgb{210, 30, 30}, c3: rgb{255, 230, 100}, minN: 1, maxN: 1, scale: 0.6, aspect: 0.35, depthMax: 0.4},
	{name: "moon", synonyms: []string{"luna", "mond", "moonlight"}, typos: []string{"mooon", "moom"}, phrases: []string{"full moon", "blue moon"},
		sky: skyNight, ground: grDark, shape: shCrescent, inSky: true, c1: rgb{245, 235, 180}, c2: rgb{245, 235, 180}, c3: rgb{200, 190, 150}, minN: 1, maxN: 1, scale: 0.3, aspect: 1},
	{name: "camping", synonyms: []string{"tent", "campsite", "zelten"}, typos: []string{"campin", "campign"}, phrases: []string{"summer camp", "camp site"},
		sky: skyDusk, ground: grGrass, shape: shTent, c1: rgb{240, 130, 30}, c2: rgb{200, 100, 20}, c3: rgb{40, 30, 25}, minN: 1, maxN: 3, scale: 0.3, aspect: 1.4},
	{name: "church", synonyms: []string{"chapel", "kirche", "iglesia", "église"}, typos: []string{"curch", "chruch"}, phrases: []string{"old church", "village church"},
		sky: skyDay, ground: grGrass, shape: shChurch, c1: rgb{235, 230, 215}, c2: rgb{150, 60, 45}, c3: rgb{60, 45, 40}, minN: 1, maxN: 1, scale: 0.55, aspect: 0.8, depthMax: 0.5},
	{name: "farm", synonyms: []string{"barn", "farmland", "bauernhof", "granja"}, typos: []string{"frm", "barnn"}, phrases: []string{"red barn", "country side"},
		sky: skyDay, ground: grField, shape: shBarn, c1: rgb{175, 40, 35}, c2: rgb{90, 30, 25}, c3: rgb{240, 235, 225}, minN: 1, maxN: 2, scale: 0.38, aspect: 1.2, depthMax: 0.5},
	{name: "pyramid", synonyms: []string{"pyramids", "egypt", "giza", "مصر"}, typos: []string{"pyramide", "piramid"}, phrases: []string{"great pyramid", "valley of the kings"},
		sky: skyHaze, ground: grSand, shape: shPyramid, c1: rgb{215, 180, 120}, c2: rgb{160, 125, 80}, c3: rgb{120, 95, 60}, minN: 1, maxN: 2, scale: 0.5, aspect: 1.7, depthMax: 0.2},
	{name: "windmill", synonyms: []string{"windmills", "molen", "mill"}, typos: []string{"windmil", "windmll"}, phrases: []string{"dutch windmill", "kinderdijk"},
		sky: skyDay, ground: grField, shape: shWindmill, c1: rgb{120, 80, 55}, c2: rgb{240, 240, 235}, c3: rgb{70, 50, 35}, minN: 1, maxN: 2, scale: 0.5, aspect: 0.8, depthMax: 0.5},
	{name: "carnival", synonyms: []string{"funfair", "riesenrad", "kermis"}, typos: []string{"carnaval", "ferris weel"}, phrases: []string{"ferris wheel", "county fair"},
		sky: skyDusk, ground: grAsphalt, shape: shWheel, c1: rgb{250, 250, 250}, c2: rgb{230, 50, 60}, c3: rgb{90, 90, 100}, minN: 1, maxN: 1, scale: 0.65, aspect: 0.95, depthMax: 0.3},
	{name: "palm", synonyms: []string{"palms", "palmera", "tropical"}, typos: []string{"plam", "palmtree"}, phrases: []string{"palm tree", "palm beach"},
		sky: skyDay, ground: grSand, shape: shPalm, c1: rgb{40, 140, 50}, c2: rgb{120, 85, 50}, c3: rgb{30, 100, 40}, minN: 1, maxN: 3, scale: 0.5, aspect: 0.8},
	{name: "sheep", synonyms: []string{"lamb", "schafe", "oveja", "mouton"}, typos: []string{"sheeps", "shep"}, phrases: []string{"new zealand", "sheep farm"},
		sky: skyDay, ground: grGrass, shape: shSheep, tex: texSpeckle, c1: rgb{240, 238, 230}, c2: rgb{215, 210, 200}, c3: rgb{25, 25, 25}, minN: 3, maxN: 6, scale: 0.13, aspect: 1.5},
	{name: "kite", synonyms: []string{"kites", "drachen", "cometa"}, typos: []string{"kyte", "kitte"}, phrases: []string{"kite flying", "kite festival"},
		sky: skyDay, ground: grGrass, shape: shKite, inSky: true, randHue: true, c2: rgb{250, 220, 40}, c3: rgb{40, 40, 40}, minN: 1, maxN: 2, scale: 0.22, aspect: 0.75},
	{name: "rainbow", synonyms: []string{"regenbogen", "arcoiris", "arc-en-ciel"}, typos: []string{"rainbo", "rainbw"}, phrases: []string{"double rainbow", "after the rain"},
		sky: skyOvercast, ground: grGrass, shape: shRainbow, c1: rgb{230, 60, 50}, c2: rgb{80, 190, 70}, c3: rgb{90, 80, 210}, minN: 1, maxN: 1, scale: 1.1, aspect: 1.6, depthMax: 0.05},
	{name: "bus", synonyms: []string{"buses", "autobus", "omnibus"}, typos: []string{"buss", "bsu"}, phrases: []string{"london bus", "double decker"},
		sky: skyOvercast, ground: grAsphalt, shape: shBus, c1: rgb{240, 190, 20}, c2: rgb{40, 50, 60}, c3: rgb{20, 20, 20}, minN: 1, maxN: 1, scale: 0.3, aspect: 2.4},
	{name: "autumn", synonyms: []string{"fall", "herbst", "otoño"}, typos: []string{"autum", "autunm"}, phrases: []string{"fall foliage", "fall colors"},
		sky: skyOvercast, ground: grLeaves, shape: shRoundTree, tex: texSpeckle, c1: rgb{230, 120, 30}, c2: rgb{200, 50, 30}, c3: rgb{80, 50, 30}, minN: 2, maxN: 4, scale: 0.45, aspect: 0.8},
	{name: "fireworks", synonyms: []string{"firework", "feuerwerk", "花火"}, typos: []string{"fireworx", "firworks"}, phrases: []string{"fourth of july", "new years eve"},
		sky: skyNight, ground: grDark, shape: shBurst, inSky: true, randHue: true, c2: rgb{255, 255, 230}, c3: rgb{255, 255, 230}, minN: 2, maxN: 4, scale: 0.28, aspect: 1},
	{name: "ship", synonyms: []string{"harbour", "harbor", "ferry"}, typos: []string{"shipp", "harbur"}, phrases: []string{"cruise ship", "container ship"},
		sky: skyDay, ground: grWater, shape: shShip, c1: rgb{245, 245, 245}, c2: rgb{200, 40, 30}, c3: rgb{40, 45, 60}, minN: 1, maxN: 1, scale: 0.3, aspect: 2.3, depthMax: 0.5},
	{name: "skiing", synonyms: []string{"ski", "skier", "snowboard"}, typos: []string{"sking", "skiiing"}, phrases: []string{"ski resort", "ski slope"},
		sky: skyDay, ground: grSnow, shape: shPerson, c1: rgb{40, 70, 200}, c2: rgb{235, 190, 160}, c3: rgb{25, 25, 25}, minN: 1, maxN: 3, scale: 0.25, aspect: 0.5},
	{name: "statue", synonyms: []string{"sculpture", "monument", "estatua"}, typos: []string{"statute", "staue"}, phrases: []string{"statue of liberty", "bronze statue"},
		sky: skyDay, ground: grStone, shape: shStatue, c1: rgb{90, 140, 120}, c2: rgb{160, 155, 150}, c3: rgb{60, 90, 80}, minN: 1, maxN: 1, scale: 0.6, aspect: 0.5, depthMax: 0.5},
	{name: "concert", synonyms: []string{"festival", "gig", "konzert"}, typos: []string{"concet", "festval"}, phrases: []string{"live music", "rock concert"},
		sky: skyStage, ground: grDark, shape: shPerson, c1: rgb{20, 18, 25}, c2: rgb{30, 25, 30}, c3: rgb{15, 12, 18}, minN: 4, maxN: 7, scale: 0.3, aspect: 0.5},
}
