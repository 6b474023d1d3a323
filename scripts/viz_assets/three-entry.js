// Bundle entry: the parts of three.js the gridscheme 3D preview uses, exposed as window.GS3.
import {
  Scene, PerspectiveCamera, WebGLRenderer, Color, Fog, HemisphereLight, DirectionalLight,
  AmbientLight, BoxGeometry, CylinderGeometry, PlaneGeometry, ShapeGeometry, Shape, Vector2,
  Vector3, Mesh, MeshLambertMaterial, MeshBasicMaterial, LineBasicMaterial, LineDashedMaterial,
  BufferGeometry, Float32BufferAttribute, Line, LineSegments, Group, Box3, GridHelper,
  DoubleSide, EdgesGeometry, MathUtils, ExtrudeGeometry, TubeGeometry, CatmullRomCurve3,
} from "three";
import { OrbitControls } from "three/examples/jsm/controls/OrbitControls.js";
import { CSS2DRenderer, CSS2DObject } from "three/examples/jsm/renderers/CSS2DRenderer.js";

window.GS3 = {
  Scene, PerspectiveCamera, WebGLRenderer, Color, Fog, HemisphereLight, DirectionalLight,
  AmbientLight, BoxGeometry, CylinderGeometry, PlaneGeometry, ShapeGeometry, Shape, Vector2,
  Vector3, Mesh, MeshLambertMaterial, MeshBasicMaterial, LineBasicMaterial, LineDashedMaterial,
  BufferGeometry, Float32BufferAttribute, Line, LineSegments, Group, Box3, GridHelper,
  DoubleSide, EdgesGeometry, MathUtils, ExtrudeGeometry, TubeGeometry, CatmullRomCurve3,
  OrbitControls, CSS2DRenderer, CSS2DObject,
};
