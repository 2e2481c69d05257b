{
  "targets": [
    {
      "target_name": "holdfast_gf",
      "sources": [
        "src/erasure/native/gf256.c"
      ],
      "defines": [
        "NAPI_VERSION=8"
      ],
      "cflags": [
        "-O3",
        "-fvisibility=hidden"
      ],
      "cflags_c": [
        "-std=gnu11"
      ],
      "xcode_settings": {
        "GCC_OPTIMIZATION_LEVEL": "3",
        "OTHER_CFLAGS": [
          "-O3",
          "-fvisibility=hidden"
        ]
      },
      "msvs_settings": {
        "VCCLCompilerTool": {
          "Optimization": 2
        }
      }
    },
    {
      "target_name": "holdfast_merkle",
      "sources": [
        "src/audit/native/merkle-root.c"
      ],
      "defines": [
        "NAPI_VERSION=8"
      ],
      "cflags": [
        "-O3",
        "-fvisibility=hidden"
      ],
      "cflags_c": [
        "-std=gnu11"
      ],
      "xcode_settings": {
        "GCC_OPTIMIZATION_LEVEL": "3",
        "OTHER_CFLAGS": [
          "-O3",
          "-fvisibility=hidden"
        ]
      },
      "msvs_settings": {
        "VCCLCompilerTool": {
          "Optimization": 2
        }
      }
    }
  ]
}