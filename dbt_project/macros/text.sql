{#- Text normalisation used by staging. Engine-specific pieces go through adapter.dispatch. -#}

{% macro regex_replace_all(expression, pattern, replacement) -%}
    {{ return(adapter.dispatch('regex_replace_all')(expression, pattern, replacement)) }}
{%- endmacro %}
{% macro default__regex_replace_all(expression, pattern, replacement) -%}
    regexp_replace({{ expression }}, '{{ pattern }}', '{{ replacement }}')
{%- endmacro %}
{% macro duckdb__regex_replace_all(expression, pattern, replacement) -%}
    regexp_replace({{ expression }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}
{#- On Spark the pattern is a Java regex inside a string literal that unescapes backslashes: each
    is doubled (else \p{L} arrives as p{L}, and names lost every letter), and a POSIX class such
    as [[:space:]], which Java reads as the set of letters : s p a c e, becomes \p{Space}. -#}
{% macro spark__regex_replace_all(expression, pattern, replacement) -%}
    {%- set java_pattern = pattern | replace('[:space:]', '\\p{Space}') | replace('\\', '\\\\') -%}
    regexp_replace({{ expression }}, '{{ java_pattern }}', '{{ replacement }}')
{%- endmacro %}

{% macro nfc(expression) -%}
    {{ return(adapter.dispatch('nfc')(expression)) }}
{%- endmacro %}
{% macro default__nfc(expression) -%}{{ expression }}{%- endmacro %}
{% macro duckdb__nfc(expression) -%}nfc_normalize({{ expression }}){%- endmacro %}

{% macro strip_accents(expression) -%}
    {{ return(adapter.dispatch('strip_accents')(expression)) }}
{%- endmacro %}
{% macro default__strip_accents(expression) -%}{{ expression }}{%- endmacro %}
{% macro duckdb__strip_accents(expression) -%}strip_accents({{ expression }}){%- endmacro %}
{#- Spark has no strip_accents: each precomposed letter of the Latin, Greek and Cyrillic blocks
    that decomposes to one base letter and marks is translated to that letter (the same 804
    letters DuckDB's strip_accents maps; tests/test_text_macros.py checks the table against it),
    then any combining mark left (decomposed input) is removed. -#}
{% macro spark__strip_accents(expression) -%}
    {%- set accented = 'ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöùúûüýÿĀāĂăĄąĆćĈĉĊċČčĎďĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĨĩĪīĬĭĮįİĴĵĶķĹĺĻļĽľŃńŅņŇňŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžƠơƯưǍǎǏǐǑǒǓǔǕǖǗǘǙǚǛǜǞǟǠǡǢǣǦǧǨǩǪǫǬǭǮǯǰǴǵǸǹǺǻǼǽǾǿȀȁȂȃȄȅȆȇȈȉȊȋȌȍȎȏȐȑȒȓȔȕȖȗȘșȚțȞȟȦȧȨȩȪȫȬȭȮȯȰȱȲȳʹ;΅Ά·ΈΉΊΌΎΏΐΪΫάέήίΰϊϋόύώϓϔЀЁЃЇЌЍЎЙйѐёѓїќѝўѶѷӁӂӐӑӒӓӖӗӚӛӜӝӞӟӢӣӤӥӦӧӪӫӬӭӮӯӰӱӲӳӴӵӸӹḀḁḂḃḄḅḆḇḈḉḊḋḌḍḎḏḐḑḒḓḔḕḖḗḘḙḚḛḜḝḞḟḠḡḢḣḤḥḦḧḨḩḪḫḬḭḮḯḰḱḲḳḴḵḶḷḸḹḺḻḼḽḾḿṀṁṂṃṄṅṆṇṈṉṊṋṌṍṎṏṐṑṒṓṔṕṖṗṘṙṚṛṜṝṞṟṠṡṢṣṤṥṦṧṨṩṪṫṬṭṮṯṰṱṲṳṴṵṶṷṸṹṺṻṼṽṾṿẀẁẂẃẄẅẆẇẈẉẊẋẌẍẎẏẐẑẒẓẔẕẖẗẘẙẛẠạẢảẤấẦầẨẩẪẫẬậẮắẰằẲẳẴẵẶặẸẹẺẻẼẽẾếỀềỂểỄễỆệỈỉỊịỌọỎỏỐốỒồỔổỖỗỘộỚớỜờỞởỠỡỢợỤụỦủỨứỪừỬửỮữỰựỲỳỴỵỶỷỸỹἀἁἂἃἄἅἆἇἈἉἊἋἌἍἎἏἐἑἒἓἔἕἘἙἚἛἜἝἠἡἢἣἤἥἦἧἨἩἪἫἬἭἮἯἰἱἲἳἴἵἶἷἸἹἺἻἼἽἾἿὀὁὂὃὄὅὈὉὊὋὌὍὐὑὒὓὔὕὖὗὙὛὝὟὠὡὢὣὤὥὦὧὨὩὪὫὬὭὮὯὰάὲέὴήὶίὸόὺύὼώᾀᾁᾂᾃᾄᾅᾆᾇᾈᾉᾊᾋᾌᾍᾎᾏᾐᾑᾒᾓᾔᾕᾖᾗᾘᾙᾚᾛᾜᾝᾞᾟᾠᾡᾢᾣᾤᾥᾦᾧᾨᾩᾪᾫᾬᾭᾮᾯᾰᾱᾲᾳᾴᾶᾷᾸᾹᾺΆᾼι῁ῂῃῄῆῇῈΈῊΉῌ῍῎῏ῐῑῒΐῖῗῘῙῚΊ῝῞῟ῠῡῢΰῤῥῦῧῨῩῪΎῬ῭΅`ῲῳῴῶῷῸΌῺΏῼ´' -%}
    {%- set plain = 'AAAAAACEEEEIIIINOOOOOUUUUYaaaaaaceeeeiiiinooooouuuuyyAaAaAaCcCcCcCcDdEeEeEeEeEeGgGgGgGgHhIiIiIiIiIJjKkLlLlLlNnNnNnOoOoOoRrRrRrSsSsSsSsTtTtUuUuUuUuUuUuWwYyYZzZzZzOoUuAaIiOoUuUuUuUuUuAaAaÆæGgKkOoOoƷʒjGgNnAaÆæØøAaAaEeEeIiIiOoOoRrRrUuUuSsTtHhAaEeOoOoOoOoYyʹ;¨Α·ΕΗΙΟΥΩιΙΥαεηιυιυουωϒϒЕЕГІКИУИиеегікиуѴѵЖжАаАаЕеӘәЖжЗзИиИиОоӨөЭэУуУуУуЧчЫыAaBbBbBbCcDdDdDdDdDdEeEeEeEeEeFfGgHhHhHhHhHhIiIiKkKkKkLlLlLlLlMmMmMmNnNnNnNnOoOoOoOoPpPpRrRrRrRrSsSsSsSsSsTtTtTtTtUuUuUuUuUuVvVvWwWwWwWwWwXxXxYyZzZzZzhtwyſAaAaAaAaAaAaAaAaAaAaAaAaEeEeEeEeEeEeEeEeIiIiOoOoOoOoOoOoOoOoOoOoOoOoUuUuUuUuUuUuUuYyYyYyYyααααααααΑΑΑΑΑΑΑΑεεεεεεΕΕΕΕΕΕηηηηηηηηΗΗΗΗΗΗΗΗιιιιιιιιΙΙΙΙΙΙΙΙοοοοοοΟΟΟΟΟΟυυυυυυυυΥΥΥΥωωωωωωωωΩΩΩΩΩΩΩΩααεεηηιιοουυωωααααααααΑΑΑΑΑΑΑΑηηηηηηηηΗΗΗΗΗΗΗΗωωωωωωωωΩΩΩΩΩΩΩΩαααααααΑΑΑΑΑι¨ηηηηηΕΕΗΗΗ᾿᾿᾿ιιιιιιΙΙΙΙ῾῾῾υυυυρρυυΥΥΥΥΡ¨¨`ωωωωωΟΟΩΩΩ´' -%}
    regexp_replace(translate({{ expression }}, '{{ accented }}', '{{ plain }}'), '\\p{M}', '')
{%- endmacro %}

{#- Trimmed text with inner runs of whitespace collapsed; empty text becomes null. -#}
{% macro clean_text(column) -%}
    nullif(trim({{ regex_replace_all(column, '[[:space:]]+', ' ') }}), '')
{%- endmacro %}

{#- A display name: NFC-normalised, trimmed, single-spaced. -#}
{% macro clean_name(column) -%}
    {{ nfc(clean_text(column)) }}
{%- endmacro %}

{% macro normalize_email(column) -%}
    nullif(lower(trim({{ column }})), '')
{%- endmacro %}

{#- ISO codes (country, currency): trimmed upper case. -#}
{% macro iso_code(column) -%}
    nullif(upper(trim({{ column }})), '')
{%- endmacro %}

{#- Tax ids compare without spaces, dots, dashes or slashes, upper case. -#}
{% macro normalize_tax_id(column) -%}
    nullif(upper({{ regex_replace_all(column, '[^0-9A-Za-z]', '') }}), '')
{%- endmacro %}

{#- "Family, Given" as "Given Family"; other names as they are. -#}
{% macro given_first(column) -%}
    case when {{ column }} like '%,%'
        then {{ dbt.concat([dbt.split_part(column, "','", 2), "' '", dbt.split_part(column, "','", 1)]) }}
        else {{ column }}
    end
{%- endmacro %}

{#- Matching key for a person's or company's name: lower case, no accents, no punctuation,
    single-spaced, and "Family, Given" turned into "given family". -#}
{% macro name_key(column) -%}
    {%- set reordered = given_first(column) -%}
    {%- set letters = regex_replace_all("lower(" ~ strip_accents(reordered) ~ ")", "[^a-z0-9 ]", "") -%}
    nullif(trim({{ regex_replace_all(letters, " +", " ") }}), '')
{%- endmacro %}

{#- Email as a matching key: gmail ignores dots in the local part, so they are dropped there. -#}
{% macro email_match_key(column) -%}
    case
        when {{ dbt.split_part(column, "'@'", 2) }} in ('gmail.com', 'googlemail.com')
            then {{ dbt.concat([
                "replace(" ~ dbt.split_part(column, "'@'", 1) ~ ", '.', '')",
                "'@gmail.com'"
            ]) }}
        else {{ column }}
    end
{%- endmacro %}
